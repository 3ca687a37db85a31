/* cli_inspect: `inspect`, reading .eml files as ingest would, without a
 * database. */
#include "cli_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "mime.h"

/* --- inspect --------------------------------------------------------- */
static int
read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct eq_buf b = {0};
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_addn(&b, chunk, n) != EQ_OK)
            break;
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return -1;
    }
    *len = b.len;
    *data = buf_take(&b);
    return 0;
}

int
cli_cmd_inspect(struct app *a, int argc, char **argv)
{
    const char *ids[16];
    size_t n_ids = 0;
    char *metrics = NULL;
    int json = 0, rc = 0, first = 1;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--json") == 0)
            json = 1;
        else if (strcmp(argv[first], "--metrics") == 0 && first + 1 < argc)
            metrics = argv[++first];
        else if (strncmp(argv[first], "--metrics=", 10) == 0)
            metrics = argv[first] + 10;
        else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else
            return cli_usage_error("inspect: unknown option %s", argv[first]);
    }
    if (first >= argc)
        return cli_usage_error("inspect: no FILE given%s", "");
    char *mcopy = metrics ? strdup(metrics) : NULL;
    for (char *p = mcopy, *s; p && n_ids < 16; p = s) {
        s = strchr(p, ',');
        if (s)
            *s++ = '\0';
        if (*p)
            ids[n_ids++] = p;
    }
    for (int i = first; i < argc; i++) {
        char *raw = NULL;
        size_t len = 0;
        struct eq_buf out = {0};
        if (read_file(argv[i], &raw, &len) != 0) {
            fprintf(stderr, "enquete: %s: %s\n", argv[i], strerror(errno));
            rc = 66;
            continue;
        }
        enum eq_err err =
            ingest_inspect(argv[i], raw, len, ids, n_ids, json, &out, &a->diag);
        if (err != EQ_OK) {
            rc = cli_fail(a, err, argv[i]);
        } else {
            fputs(buf_str(&out), stdout);
        }
        buf_free(&out);
        free(raw);
    }
    free(mcopy);
    return rc;
}
