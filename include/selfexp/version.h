#ifndef SELFEXP_VERSION_H
#define SELFEXP_VERSION_H
#define SX_VERSION "0.2.0"
#endif
