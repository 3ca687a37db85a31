/* The config.ini parser: config_load on the input written to a scratch file
 * (config has no in-memory API). Every failure must be EQ_ERR_CONFIG with a
 * message, never a crash. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};
    enum eq_err err;

    fuzz_write("config.ini", data, size, path, sizeof path);
    err = config_load(path, &cfg, &diag);
    if (err == EQ_OK && !cfg)
        abort();
    if (err == EQ_ERR_CONFIG && diag.len == 0)
        abort();
    if (cfg) {
        char *local = NULL, *domain = NULL;
        if (config_reply_parts(cfg, &local, &domain) == EQ_OK) {
            free(local);
            free(domain);
        }
    }
    config_free(cfg);
    buf_free(&diag);
    return 0;
}
