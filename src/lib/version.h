/* version.h - moat's version, for `moat --version` and /metrics' moat_build_info. */
#ifndef MOAT_VERSION_H
#define MOAT_VERSION_H

#define MOAT_VERSION "0.1.0"

#endif /* MOAT_VERSION_H */
