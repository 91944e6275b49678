/* tools/config/text.h — small string helpers shared by the CLI's modules. */
#ifndef PROBADOR_TOOLS_TEXT_H
#define PROBADOR_TOOLS_TEXT_H

/* Levenshtein distance, for "did you mean" suggestions (1000 for strings
   longer than 100 characters). */
int text_edit_distance(const char *a, const char *b);

#endif
