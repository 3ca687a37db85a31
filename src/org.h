/*
 * org: people and departments from the HR export (CSV via libcsv, which stays
 * inside org.c). An import is validated as a whole before anything is
 * written, then applied in one store transaction: a bad file changes nothing.
 * It owns no SQL (that is store's) and prints nothing (that is cli's).
 */
#ifndef ORG_H
#define ORG_H

#include <stddef.h>

#include "eq.h"
#include "store.h"

/* What one import did; re-importing the same file gives 0 everywhere but
 * rows and unchanged. */
struct org_report {
    size_t rows; /* data records in the file */
    size_t departments_added;
    size_t departments_changed; /* renamed */
    size_t employees_added;
    size_t employees_changed;     /* name, department, language, aliases,
                                   * manages or reactivated by the file */
    size_t employees_deactivated; /* active = no in the file, or --prune */
    size_t unchanged;             /* rows that changed nothing */
    size_t invitations_cancelled; /* open invitations of people who left */
};

/* Imports an organisation CSV (DESIGN.md "Organisation (CSV)"). Every
 * problem of the file is appended to diag as "FILE:LINE: reason" and gives
 * EQ_ERR_DATA with the database untouched; a missing file is
 * EQ_ERR_NOINPUT. prune deactivates active employees absent from the file;
 * open invitations of everyone inactive are cancelled. People added to an
 * existing organisation are joiners as of now. rep may be NULL. */
enum eq_err org_import(struct store *st, const char *path, int prune,
                       eq_time now, struct org_report *rep,
                       struct eq_buf *diag);

/* Appends a human-readable description of the employee with this address
 * (or alias) to out: name, addresses, department, language, status and
 * whether they manage their department. EQ_ERR_NOTFOUND if unknown. */
enum eq_err org_show(struct store *st, const char *email, struct eq_buf *out);

/* Marks the employee active and deliverable again. An opt-out is consent
 * and stays as it is. EQ_ERR_NOTFOUND if unknown. */
enum eq_err org_reactivate(struct store *st, const char *email,
                           struct eq_buf *diag);

/* The default department code for a display name, appended to out:
 * lowercase ASCII letters and digits, Latin diacritics folded (é → e,
 * ß → ss), every other run → '-', no '-' at either end. May be empty. */
enum eq_err org_slug(const char *name, struct eq_buf *out);

#endif
