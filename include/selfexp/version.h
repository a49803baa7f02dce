#ifndef SELFEXP_VERSION_H
#define SELFEXP_VERSION_H
#define SX_VERSION "0.1.0"
#endif
