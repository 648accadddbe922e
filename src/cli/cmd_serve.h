/*
 * cmd_serve.h -- option parsing shared by serve and demo.
 */
#ifndef WB_CMD_SERVE_H
#define WB_CMD_SERVE_H

#include "base/err.h"
#include "server/server.h"

/* Parses the server option at argv[*i] (advancing *i past its value). */
int cmd_serve_parse(int argc, char **argv, ServerOpts *o, int *i, Err *e);

#endif
