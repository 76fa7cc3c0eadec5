/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* soccr.h - placeholder, see the issue that builds libsoccr */
#ifndef SOCCR_H
#define SOCCR_H
#endif
