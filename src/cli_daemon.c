#include "cli_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_cmd_daemon(struct app *a, int argc, char **argv)
{
    (void)a;
    (void)argc;
    (void)argv;
    fprintf(stderr, "enquete: daemon: not available yet; run 'enquete run' "
                    "from cron or a systemd timer instead\n");
    return 69;
}

