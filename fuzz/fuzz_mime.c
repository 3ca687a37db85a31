/* The MIME reader on raw bytes: mime_parse must give a best-effort result for
 * anything, and every string it returns must be NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_msg *m = NULL;
    struct eq_buf diag = {0};
    char *text = NULL;
    volatile size_t sink = 0;

    if (mime_parse((const char *)data, size, &m, &diag) == EQ_OK && m) {
        /* Touch what callers read, so a missing terminator shows up. */
        sink += strlen(m->text) + strlen(m->subject);
        for (size_t i = 0; i < m->n_headers; i++)
            sink += strlen(m->headers[i].name) + strlen(m->headers[i].value);
        for (size_t i = 0; i < m->n_to; i++)
            sink += strlen(m->to[i]);
        for (size_t i = 0; i < m->n_references; i++)
            sink += strlen(m->references[i]);
        if (m->html && mime_html_to_text(m->html, strlen(m->html), &text) == EQ_OK)
            sink += strlen(text);
        (void)mime_header(m, "Message-ID");
    }
    free(text);
    mime_free(m);
    buf_free(&diag);
    /* The HTML converter on its own, on the raw bytes too. */
    text = NULL;
    if (mime_html_to_text((const char *)data, size, &text) == EQ_OK)
        sink += strlen(text);
    free(text);
    (void)sink;
    return 0;
}
