/* The campaign parser: campaign_load on the input written to a scratch file,
 * then the period grid for a few days of a loaded campaign. */
#include <stdint.h>
#include <stdlib.h>

#include "campaign.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    struct campaign *c = NULL;
    struct eq_buf diag = {0};
    enum eq_err err;

    fuzz_write("fuzz.ini", data, size, path, sizeof path);
    err = campaign_load(path, "Europe/Amsterdam", &c, &diag);
    if (err == EQ_ERR_CONFIG && diag.len == 0)
        abort();
    if (err == EQ_OK && c) {
        struct period p, q;
        /* Around the start and ten years on: the grid must be consistent. */
        for (eq_day d = c->start - 3; d < c->start + 3650; d += 97) {
            (void)campaign_is_send_day(c, d);
            if (campaign_period_of(c, d, &p) != EQ_OK)
                continue;
            if (d < p.first || d > p.last)
                abort();
            if (campaign_period_by_label(c, p.label, &q) != EQ_OK ||
                q.first != p.first || q.last != p.last)
                abort();
        }
    }
    campaign_free(c);
    buf_free(&diag);
    return 0;
}
