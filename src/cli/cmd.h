/*
 * cmd.h -- the subcommands of the waybill binary.  Each takes the
 * arguments after its name and returns the process exit status.
 */
#ifndef WB_CMD_H
#define WB_CMD_H

int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_devbroker(int argc, char **argv);
int cmd_simulate(int argc, char **argv);

#endif
