/* mote/mote.h compiles as C99 on its own: this file includes nothing else and
 * is built with -std=c99 -pedantic-errors (tests/capi.cmake). */
#include "mote/mote.h"

int mote_capi_header_is_c99(void);
int mote_capi_header_is_c99(void) {
  mote_spec s;
  mote_options o;
  mote_model m;
  (void)s;
  (void)o;
  (void)m;
  return (int)sizeof(mote_model) >= 512 && MOTE_MAX_LAYERS == 8 && MOTE_OK == 0;
}
