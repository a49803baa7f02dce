#ifndef SELFEXP_BANNED_H
#define SELFEXP_BANNED_H
/*
 * Functions that are too easy to misuse; use sx_buf, snprintf or strtol instead
 * (git banned.h). Forced into every source file by the build (-include).
 */
/* The system headers that declare them come first, so the macros below only
 * affect our code, not the libc's own inline definitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef gets
#define gets(x) BANNED(gets)

#endif
