#include "cli.h"

#include <stdio.h>

int
cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "enquete: not built yet\n");
    return 69;
}
