/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compel-blob - turn parasite objects into a blob that libcompel loads:
 * link them position-independent, flatten the loadable segments, keep the
 * relocations (R_X86_64_RELATIVE only) and the global symbols (entry
 * points).  Output: the blob file, or with -n NAME a C source embedding
 * it as `const unsigned char NAME[]` and `const unsigned long NAME_size`.
 * See compel-blob(1).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../libcompel/blobfmt.h"
#include "tool.h"

#define CFLAGS_HINT \
	"-O2 -ffreestanding -fno-builtin -nostdlib -fpie -fno-stack-protector " \
	"-fno-asynchronous-unwind-tables -fcf-protection=none -mgeneral-regs-only"

static void *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *b;

	if (fd < 0)
		tool_die(CR_EX_NOTFOUND, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		tool_die(CR_EX_FAIL, "%s: not an ELF file", path);
	b = malloc((size_t)st.st_size);
	if (!b || tool_read_full(fd, b, (size_t)st.st_size) != st.st_size)
		tool_die(CR_EX_FAIL, "cannot read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static int is_rel(const char *path)
{
	size_t len;
	Elf64_Ehdr *e = read_all(path, &len);
	int r;

	if (memcmp(e->e_ident, ELFMAG, SELFMAG) || e->e_ident[EI_CLASS] != ELFCLASS64)
		tool_die(CR_EX_FAIL, "%s: not a 64-bit ELF file", path);
	r = e->e_type == ET_REL;
	free(e);
	return r;
}

static void link_objects(const char *ld, char **in, int n, const char *out)
{
	const char *argv[64];
	int i = 0, st;
	pid_t pid;

	argv[i++] = ld;
	argv[i++] = "-pie";
	argv[i++] = "--no-dynamic-linker";
	argv[i++] = "-z";
	argv[i++] = "norelro";
	argv[i++] = "-z";
	argv[i++] = "noexecstack";
	argv[i++] = "-z";
	argv[i++] = "max-page-size=4096";
	argv[i++] = "-z";
	argv[i++] = "noseparate-code";
	argv[i++] = "--build-id=none";
	argv[i++] = "--hash-style=gnu";
	argv[i++] = "-e";
	argv[i++] = "0";
	argv[i++] = "-o";
	argv[i++] = out;
	for (int k = 0; k < n && i < 62; k++)
		argv[i++] = in[k];
	argv[i] = NULL;
	pid = fork();
	if (pid < 0)
		tool_die(CR_EX_FAIL, "fork: %s", strerror(errno));
	if (!pid) {
		execvp(ld, (char **)argv);
		tool_msg("cannot run %s: %s", ld, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		tool_die(CR_EX_FAIL, "linking the parasite with %s failed", ld);
}

struct out {
	struct blob_hdr h;
	struct blob_reloc *rel;
	struct blob_sym *sym;
	uint8_t *image;
};

static void convert(const char *path, struct out *o)
{
	size_t len, i;
	uint8_t *f = read_all(path, &len);
	Elf64_Ehdr *e = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	uint64_t img = 0, mem = 0;

	if (e->e_type != ET_DYN && e->e_type != ET_EXEC)
		tool_die(CR_EX_FAIL, "%s: not a linked object", path);
	if (e->e_phoff + (uint64_t)e->e_phnum * sizeof(*ph) > len ||
	    e->e_shoff + (uint64_t)e->e_shnum * sizeof(*sh) > len)
		tool_die(CR_EX_FAIL, "%s: truncated ELF", path);
	ph = (Elf64_Phdr *)(f + e->e_phoff);
	sh = (Elf64_Shdr *)(f + e->e_shoff);
	for (i = 0; i < e->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr + ph[i].p_filesz > img)
			img = ph[i].p_vaddr + ph[i].p_filesz;
		if (ph[i].p_vaddr + ph[i].p_memsz > mem)
			mem = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (!img || img > (64u << 20))
		tool_die(CR_EX_FAIL, "%s: no loadable code, or absurdly large", path);
	memset(o, 0, sizeof(*o));
	memcpy(o->h.magic, BLOB_MAGIC, 8);
	o->h.machine = e->e_machine;
	o->h.image_size = img;
	o->h.mem_size = mem;
	o->image = calloc(1, img);
	for (i = 0; i < e->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_filesz)
			continue;
		if (ph[i].p_offset + ph[i].p_filesz > len)
			tool_die(CR_EX_FAIL, "%s: segment past the end", path);
		memcpy(o->image + ph[i].p_vaddr, f + ph[i].p_offset, ph[i].p_filesz);
	}
	for (i = 0; i < e->e_shnum; i++) {
		if (sh[i].sh_type == SHT_RELA && (sh[i].sh_flags & SHF_ALLOC)) {
			Elf64_Rela *r = (Elf64_Rela *)(f + sh[i].sh_offset);
			size_t n = sh[i].sh_size / sizeof(*r);

			for (size_t k = 0; k < n; k++) {
				uint32_t type = ELF64_R_TYPE(r[k].r_info);

				if (type == R_X86_64_NONE)
					continue;
				if (type != R_X86_64_RELATIVE || r[k].r_offset + 8 > img)
					tool_die(CR_EX_FAIL,
						 "%s: relocation type %u at %#lx cannot be handled "
						 "(an undefined symbol? parasites link no library)",
						 path, type, (unsigned long)r[k].r_offset);
				o->rel = realloc(o->rel, (o->h.nr_relocs + 1) * sizeof(*o->rel));
				o->rel[o->h.nr_relocs].off = r[k].r_offset;
				o->rel[o->h.nr_relocs].addend = r[k].r_addend;
				o->h.nr_relocs++;
			}
		} else if (sh[i].sh_type == SHT_REL && (sh[i].sh_flags & SHF_ALLOC) && sh[i].sh_size) {
			tool_die(CR_EX_FAIL, "%s: REL relocations are not supported", path);
		} else if (sh[i].sh_type == SHT_SYMTAB) {
			Elf64_Sym *s = (Elf64_Sym *)(f + sh[i].sh_offset);
			const char *str = (const char *)(f + sh[sh[i].sh_link].sh_offset);
			size_t n = sh[i].sh_size / sizeof(*s);

			for (size_t k = 0; k < n; k++) {
				int bind = ELF64_ST_BIND(s[k].st_info), type = ELF64_ST_TYPE(s[k].st_info);
				const char *name = str + s[k].st_name;

				if (bind != STB_GLOBAL || s[k].st_shndx == SHN_UNDEF ||
				    (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
				    !*name || strlen(name) >= BLOB_SYM_NAME ||
				    s[k].st_shndx == SHN_ABS)
					continue;
				o->sym = realloc(o->sym, (o->h.nr_syms + 1) * sizeof(*o->sym));
				memset(&o->sym[o->h.nr_syms], 0, sizeof(*o->sym));
				o->sym[o->h.nr_syms].off = s[k].st_value;
				strcpy(o->sym[o->h.nr_syms].name, name);
				o->h.nr_syms++;
			}
		}
	}
	free(f);
}

static void emit(FILE *f, const void *p, size_t n, const char *cname, size_t *col)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		if (cname)
			fprintf(f, "%s0x%02x,", (*col)++ % 12 ? " " : "\n\t", b[i]);
		else
			fputc(b[i], f);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "ld", required_argument, NULL, 'L' },
		{ "cflags", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *cname = NULL, *ld = getenv("LD");
	char tmp[] = "/tmp/compel-blob.XXXXXX";
	const char *elf;
	struct out o;
	FILE *f;
	size_t col = 0;
	int c, tmpfd = -1;

	tool_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': cname = optarg; break;
		case 'L': ld = optarg; break;
		case 'c': printf("%s\n", CFLAGS_HINT); return 0;
		case 'h':
			printf("usage: compel-blob [-o OUT] [-n CNAME] [--ld LD] OBJECT...\n"
			       "       compel-blob --cflags\n");
			return 0;
		default: tool_usage_error("unknown option");
		}
	}
	if (optind >= argc)
		tool_usage_error("no input object");
	if (!ld || !*ld)
		ld = "ld";
	if (argc - optind == 1 && !is_rel(argv[optind])) {
		elf = argv[optind];
	} else {
		tmpfd = mkstemp(tmp);
		if (tmpfd < 0)
			tool_die(CR_EX_FAIL, "mkstemp: %s", strerror(errno));
		close(tmpfd);
		link_objects(ld, argv + optind, argc - optind, tmp);
		elf = tmp;
	}
	convert(elf, &o);
	if (tmpfd >= 0)
		unlink(tmp);
	f = out ? fopen(out, "we") : stdout;
	if (!f)
		tool_die(CR_EX_FAIL, "cannot create %s: %s", out, strerror(errno));
	if (cname)
		fprintf(f, "/* generated by compel-blob: do not edit */\n"
			   "const unsigned char %s[] __attribute__((aligned(8))) = {", cname);
	emit(f, &o.h, sizeof(o.h), cname, &col);
	emit(f, o.rel, o.h.nr_relocs * sizeof(*o.rel), cname, &col);
	emit(f, o.sym, o.h.nr_syms * sizeof(*o.sym), cname, &col);
	emit(f, o.image, o.h.image_size, cname, &col);
	if (cname)
		fprintf(f, "\n};\nconst unsigned long %s_size = sizeof(%s);\n", cname, cname);
	if (fflush(f) || (out && fclose(f)))
		tool_die(CR_EX_FAIL, "cannot write %s: %s", out ? out : "stdout", strerror(errno));
	free(o.rel);
	free(o.sym);
	free(o.image);
	return 0;
}
