/* mote/board.h - what a bare-metal board gives platform/baremetal (C or C++).
 *
 * Each hook has a weak default in platform/baremetal/platform_baremetal.cpp:
 *   mote_board_write   ARM semihosting SYS_WRITE0, or a CMSDK APB UART when the
 *                      library is built with MOTE_CONSOLE_UART=<base address>
 *   mote_board_now_us  0 (no clock)
 *   mote_board_halt    semihosting SYS_EXIT when MOTE_SEMIHOSTING_EXIT=1,
 *                      else the core sleeps forever
 * A board (e.g. examples/cortex-m/board/) defines any of them to override.
 */
#ifndef MOTE_BOARD_H
#define MOTE_BOARD_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void mote_board_write(const char* s, size_t n);
uint64_t mote_board_now_us(void);
/* Ends the program: 0 success, anything else failure (mote fatal() passes 1). */
void mote_board_halt(int code)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/* Semihosting helpers (need a debugger or qemu -semihosting). */
void mote_semihosting_write0(const char* s);
void mote_semihosting_exit(int code)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif /* MOTE_BOARD_H */
