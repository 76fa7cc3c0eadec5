/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding a symbol of a library mapped in the task, from the library's
 * ELF file (dynamic symbols, default version preferred). */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int lookup(const uint8_t *f, size_t len, const char *sym, uint64_t *value)
{
	const Elf64_Ehdr *e = (const Elf64_Ehdr *)f;
	const Elf64_Shdr *sh;
	const Elf64_Sym *ds = NULL;
	const uint16_t *vs = NULL;
	const char *str = NULL;
	size_t n = 0, strsz = 0, i;
	int found = 0;

	if (len < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG) ||
	    e->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->e_shoff + (uint64_t)e->e_shnum * sizeof(*sh) > len)
		return -ENOEXEC;
	sh = (const Elf64_Shdr *)(f + e->e_shoff);
	for (i = 0; i < e->e_shnum; i++) {
		if (sh[i].sh_offset + sh[i].sh_size > len)
			continue;
		if (sh[i].sh_type == SHT_DYNSYM && sh[i].sh_link < e->e_shnum) {
			ds = (const Elf64_Sym *)(f + sh[i].sh_offset);
			n = sh[i].sh_size / sizeof(*ds);
			str = (const char *)(f + sh[sh[i].sh_link].sh_offset);
			strsz = sh[sh[i].sh_link].sh_size;
		} else if (sh[i].sh_type == SHT_GNU_versym) {
			vs = (const uint16_t *)(f + sh[i].sh_offset);
		}
	}
	if (!ds)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (ds[i].st_name >= strsz || ds[i].st_shndx == SHN_UNDEF || !ds[i].st_value)
			continue;
		if (strcmp(str + ds[i].st_name, sym))
			continue;
		*value = ds[i].st_value;
		found = 1;
		if (!vs || !(vs[i] & 0x8000))
			return 0; /* the default version */
	}
	return found ? 0 : -ENOENT;
}

COMPEL_API int compel_proc__find_symbol(struct compel_proc *p, const char *lib,
					const char *sym, uint64_t *addr)
{
	char path[64], line[4200], file[4096] = "";
	unsigned long start, end, off, base = 0;
	uint64_t value;
	FILE *f;
	int fd, err;
	struct stat st;
	void *map;

	if (!p || !lib || !sym || !addr)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		char perms[8], *name;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s%n", &start, &end, perms, &off, &pos) < 4)
			continue;
		name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		if (*name != '/' || !strstr(strrchr(name, '/'), lib))
			continue;
		if (off == 0) {
			base = start;
			snprintf(file, sizeof(file), "%s", name);
			break;
		}
	}
	fclose(f);
	if (!file[0]) {
		pr_err("no library matching '%s' in process %d", lib, p->pid);
		return -ENOENT;
	}
	snprintf(line, sizeof(line), "/proc/%d/root%s", p->pid, file);
	fd = open(line, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return -ENOEXEC;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	err = lookup(map, (size_t)st.st_size, sym, &value);
	munmap(map, (size_t)st.st_size);
	if (err) {
		pr_err("no symbol %s in %s", sym, file);
		return err;
	}
	*addr = base + value;
	return 0;
}
