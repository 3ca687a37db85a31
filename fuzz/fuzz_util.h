/*
 * fuzz_util: what several fuzz targets share — a private scratch directory
 * for parsers that only read files, removed at exit. Only fuzz/ uses it;
 * no target may write outside that directory.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static void
fuzz_dir_remove(void)
{
    char cmd[128];

    if (fuzz_dir[0] == '\0')
        return;
    /* The harness is the only writer of this directory: a plain rm is fine. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

/* Creates the scratch directory once; returns it. */
static const char *
fuzz_scratch(void)
{
    if (fuzz_dir[0] == '\0') {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/enquete-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir))
            abort();
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir;
}

/* Writes data to DIR/name (replacing it) and returns the path in path. */
static void
fuzz_write(const char *name, const unsigned char *data, size_t size,
           char *path, size_t path_size)
{
    int fd;

    snprintf(path, path_size, "%s/%s", fuzz_scratch(), name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        if (w <= 0)
            abort();
        data += w;
        size -= (size_t)w;
    }
    close(fd);
}

#endif
