/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* compel.h - placeholder, see the issue that builds libcompel */
#ifndef COMPEL_H
#define COMPEL_H
#endif
