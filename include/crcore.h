/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* crcore.h - placeholder, see the issue that builds libcrcore */
#ifndef CRCORE_H
#define CRCORE_H
#endif
