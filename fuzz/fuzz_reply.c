/* Reply extraction and score reading on arbitrary text: reply_strip and
 * reply_read with the three built-in metrics plus a touchpoint item. Scores
 * read must be within their metric's range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct reply_metric metrics[] = {
    {"nps", "Aanbeveling", "Recommendation", 0, 10},
    {"ces", "Gemak", "Ease", 1, 7},
    {"csat", "Tevredenheid", "Satisfaction", 1, 5},
    {"responsiveness", "Snelheid", NULL, 1, 5},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    char *stripped = NULL;
    struct reply_answer a;

    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    if (reply_strip(body, &stripped) == EQ_OK)
        (void)strlen(stripped);
    free(stripped);
    /* The first byte picks how many metrics the campaign asks. */
    size_t n = size ? 1 + (size_t)data[0] % 4 : 1;
    memset(&a, 0, sizeof a);
    if (reply_read(body, metrics, n, &a) == EQ_OK) {
        if (a.n_scores > n)
            abort();
        for (size_t i = 0; i < a.n_scores; i++) {
            size_t j;
            for (j = 0; j < n; j++)
                if (strcmp(a.scores[i].id, metrics[j].id) == 0)
                    break;
            if (j == n || a.scores[i].score < metrics[j].min ||
                a.scores[i].score > metrics[j].max)
                abort();
        }
        if (!a.comment || !a.text)
            abort();
    }
    reply_answer_clear(&a);
    free(body);
    return 0;
}
