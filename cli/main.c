/*
 * main.c - the soma program: dispatches to a subcommand.
 */
#include "cli.h"
#include "svg.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "train the blog post's single neuron and predict [1,0,0]"},
    {"train", cmd_train, "train a network on a CSV file and save the model"},
    {"predict", cmd_predict, "write the model's predictions for a CSV file"},
    {"eval", cmd_eval, "print loss, accuracy and a confusion matrix"},
    {"info", cmd_info, "describe a model file"},
    {"plot", cmd_plot, "draw the learning curves of a training log as SVG"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: soma COMMAND [options]   (soma COMMAND --help for more)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  --version print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("soma %s\n", SOMA_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "soma: unknown command '%s' (see 'soma --help')\n", argv[1]);
    return EXIT_USAGE;
}
