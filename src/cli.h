/*
 * cli: argument parsing and dispatch of every command of DESIGN.md; the only
 * module that prints for the user. Returns a sysexits.h code.
 */
#ifndef CLI_H
#define CLI_H

int cli_main(int argc, char **argv);

#endif
