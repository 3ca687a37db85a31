/* Classification of a raw message as ingest does it: mime_parse, reply_strip
 * of the text, classify_message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "mime.h"
#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_msg *m = NULL;
    struct classify_result r;
    char *stripped = NULL;

    memset(&r, 0, sizeof r);
    if (mime_parse((const char *)data, size, &m, NULL) != EQ_OK || !m)
        return 0;
    /* Both ways ingest may call it: with the stripped text and without. */
    if (reply_strip(m->text, &stripped) == EQ_OK) {
        if (classify_message(m, stripped, &r) == EQ_OK)
            (void)classify_kind_name(r.kind);
        classify_result_clear(&r);
    }
    if (classify_message(m, NULL, &r) == EQ_OK) {
        if (r.bounce_recipient)
            (void)strlen(r.bounce_recipient);
        if (memchr(r.status, '\0', sizeof r.status) == NULL ||
            memchr(r.reason, '\0', sizeof r.reason) == NULL)
            abort();
    }
    classify_result_clear(&r);
    free(stripped);
    mime_free(m);
    return 0;
}
