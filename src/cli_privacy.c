#include "cli_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_cmd_privacy(struct app *a, int argc, char **argv)
{
    (void)a;
    if (argc < 3 || (strcmp(argv[1], "export") && strcmp(argv[1], "erase")))
        return cli_usage_error("privacy: expects export EMAIL or erase EMAIL%s",
                           "");
    fprintf(stderr, "enquete: privacy %s: not available yet\n", argv[1]);
    return 69;
}

