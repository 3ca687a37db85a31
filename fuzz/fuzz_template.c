/* The template engine on an arbitrary template, in text and HTML mode, with
 * partials from a scratch directory that holds one harmless partial. A
 * {{> name}} must never read a file outside that directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tpl_ctx *ctx;
static char dir[128];

static void
setup(void)
{
    char path[160];
    static const char part[] = "[{{name}}{{#items}}<{{v}}>{{/items}}]";
    struct tpl_ctx *it;

    ctx = tpl_ctx_new();
    if (!ctx)
        abort();
    tpl_set(ctx, "name", "<b>&\"Jan\"'</b>");
    tpl_set(ctx, "empty", "");
    tpl_set_bool(ctx, "yes", 1);
    tpl_set_bool(ctx, "no", 0);
    for (int i = 0; i < 3; i++) {
        it = tpl_add_item(ctx, "items");
        if (!it)
            abort();
        tpl_setf(it, "v", "%d", i);
    }
    snprintf(dir, sizeof dir, "%s/tpl", fuzz_scratch());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/nl", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/partials", dir);
    mkdir(path, 0700);
    fuzz_write("tpl/partials/p.txt", (const uint8_t *)part, strlen(part),
               path, sizeof path);
    fuzz_write("tpl/partials/p.html", (const uint8_t *)part, strlen(part),
               path, sizeof path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *out = NULL;
    struct eq_buf diag = {0};
    struct tpl_source src = {dir, "nl", "txt"};

    if (!text)
        return 0;
    if (!ctx)
        setup();
    memcpy(text, data, size);
    text[size] = '\0';
    for (int html = 0; html < 2; html++) {
        if (template_render(text, ctx, html, "fuzz", &out, &diag) == EQ_OK)
            (void)strlen(out);
        free(out);
        out = NULL;
        buf_reset(&diag);
    }
    if (template_render_src(text, ctx, &src, "fuzz", &out, &diag) == EQ_OK)
        (void)strlen(out);
    free(out);
    buf_free(&diag);
    free(text);
    return 0;
}
