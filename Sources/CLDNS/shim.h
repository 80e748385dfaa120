#ifndef SCDNS_CLDNS_SHIM_H
#define SCDNS_CLDNS_SHIM_H
#include <ldns/ldns.h>
#endif
