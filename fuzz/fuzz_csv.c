/* The organisation CSV import against a fresh in-memory store: any file
 * either imports or fails with EQ_ERR_DATA and a FILE:LINE reason. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "org.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    struct store *st = NULL;
    struct eq_buf diag = {0};
    struct org_report rep;
    enum eq_err err;

    fuzz_write("org.csv", data, size, path, sizeof path);
    if (store_open(":memory:", &st, &diag) != EQ_OK)
        abort();
    err = org_import(st, path, (size ? data[0] & 1 : 0), 1795000000, &rep,
                     &diag);
    if (err == EQ_ERR_DATA && diag.len == 0)
        abort();
    if (err == EQ_OK) {
        /* Importing the same file again changes nothing. */
        err = org_import(st, path, 0, 1795000000, &rep, &diag);
        if (err != EQ_OK || rep.employees_added != 0 ||
            rep.departments_added != 0)
            abort();
    }
    store_close(st);
    buf_free(&diag);
    return 0;
}
