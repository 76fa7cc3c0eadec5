/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing parasite blobs (format in blobfmt.h, made by compel-blob). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"

COMPEL_API int compel_blob_open(const void *data, size_t len, struct compel_blob **ret_blob)
{
	const struct blob_hdr *h = data;
	struct compel_blob *b;
	size_t need;
	unsigned i;

	if (!data || !ret_blob || len < sizeof(*h) || memcmp(h->magic, BLOB_MAGIC, 8))
		return -EINVAL;
	if (h->machine != BLOB_MACHINE)
		return -ENOEXEC;
	if (h->flags || h->nr_relocs > (1u << 20) || h->nr_syms > (1u << 16) ||
	    h->image_size > (64u << 20) || h->mem_size < h->image_size ||
	    h->mem_size > (256u << 20))
		return -EINVAL;
	need = sizeof(*h) + h->nr_relocs * sizeof(struct blob_reloc) +
	       h->nr_syms * sizeof(struct blob_sym) + h->image_size;
	if (len < need)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->data = malloc(need);
	if (!b->data) {
		free(b);
		return -ENOMEM;
	}
	memcpy(b->data, data, need);
	b->h = (struct blob_hdr *)b->data;
	b->rel = (struct blob_reloc *)(b->h + 1);
	b->sym = (struct blob_sym *)(b->rel + h->nr_relocs);
	b->image = (uint8_t *)(b->sym + h->nr_syms);
	for (i = 0; i < h->nr_relocs; i++)
		if (b->rel[i].off + 8 > h->image_size) {
			compel_blob_free(b);
			return -EINVAL;
		}
	for (i = 0; i < h->nr_syms; i++) {
		b->sym[i].name[BLOB_SYM_NAME - 1] = 0;
		if (b->sym[i].off > h->mem_size) {
			compel_blob_free(b);
			return -EINVAL;
		}
	}
	*ret_blob = b;
	return 0;
}

COMPEL_API int compel_blob_open_file(const char *path, struct compel_blob **ret_blob)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	struct stat st;
	size_t done = 0;
	void *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size > (128 << 20)) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	err = compel_blob_open(buf, done, ret_blob);
	free(buf);
	return err;
}

COMPEL_API void compel_blob_free(struct compel_blob *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

COMPEL_API int64_t compel_blob__sym(const struct compel_blob *b, const char *name)
{
	unsigned i;

	if (!b || !name)
		return -EINVAL;
	for (i = 0; i < b->h->nr_syms; i++)
		if (!strcmp(b->sym[i].name, name))
			return (int64_t)b->sym[i].off;
	return -ENOENT;
}

COMPEL_API unsigned compel_blob__nr_syms(const struct compel_blob *b)
{
	return b ? b->h->nr_syms : 0;
}

COMPEL_API const char *compel_blob__sym_name(const struct compel_blob *b, unsigned i)
{
	return b && i < b->h->nr_syms ? b->sym[i].name : NULL;
}

/* Copies the image to dst (the caller's view of remote address base) and
 * applies the relocations. */
void compel_blob_place(const struct compel_blob *b, void *dst, uint64_t base)
{
	unsigned i;

	memcpy(dst, b->image, b->h->image_size);
	memset((uint8_t *)dst + b->h->image_size, 0, b->h->mem_size - b->h->image_size);
	for (i = 0; i < b->h->nr_relocs; i++) {
		uint64_t v = base + (uint64_t)b->rel[i].addend;

		memcpy((uint8_t *)dst + b->rel[i].off, &v, 8);
	}
}
