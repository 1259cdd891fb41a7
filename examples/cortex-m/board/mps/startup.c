/* Startup for the Arm MPS2/MPS3 FPGA boards qemu emulates (mps2-an386
 * Cortex-M4, mps2-an500 Cortex-M7, mps3-an547 Cortex-M55): vector table,
 * reset (FPU on, .data copied from flash, .bss zeroed, constructors), fault
 * report, and the board hooks of mote/board.h. The console is the board's
 * CMSDK UART0 (MOTE_FW_UART: 0x40004000 on MPS2, 0x49303000 on AN547; qemu
 * -serial stdio); exits go through semihosting (qemu -semihosting).
 *
 * The AN547's Cortex-M55 boots in the Secure state with the SAU off, so every
 * address is Secure to it: code at 0 (ITCM), data in SRAM and the UART's
 * address need no TrustZone set-up for this single-image program. */
#include <stddef.h>
#include <stdint.h>

#include "mote/board.h"

int main(void);

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[],
    __stack_bottom[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

void Reset_Handler(void);
void Fault_Handler(void);
size_t mote_fw_stack_used(void);
size_t mote_fw_stack_reserved(void);

#define STACK_PAINT 0xA5A5A5A5u

/* Bytes of the stack ever written since reset (the stack is painted first). */
size_t mote_fw_stack_used(void) {
  const uint32_t* p = __stack_bottom;
  while (p < __stack_top && *p == STACK_PAINT) ++p;
  return (size_t)((const char*)__stack_top - (const char*)p);
}
size_t mote_fw_stack_reserved(void) { return (size_t)((const char*)__stack_top - (const char*)__stack_bottom); }

#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)
#ifndef MOTE_FW_UART
#define MOTE_FW_UART 0x40004000u
#endif

typedef struct {
  volatile uint32_t data, state, ctrl, intstatus, bauddiv;
} cmsdk_uart;

void mote_board_write(const char* s, size_t n) {
  cmsdk_uart* u = (cmsdk_uart*)MOTE_FW_UART;
  size_t i;
  if ((u->ctrl & 1u) == 0) {
    u->bauddiv = 16;
    u->ctrl = 1; /* TX enable */
  }
  for (i = 0; i < n; ++i) {
    while (u->state & 1u) { /* TX full */
    }
    u->data = (uint8_t)s[i];
  }
}

void mote_board_halt(int code) { mote_semihosting_exit(code); }

void Reset_Handler(void) {
  uint32_t* src = __data_load;
  uint32_t* dst;
  size_t i, n;
#if defined(__ARM_FP)
  SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU (and Helium on the M55) */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
#if defined(__ARM_ARCH_8M_MAIN__)
  /* Armv8-M (the M55): the core checks the stack limit itself; an overflow
   * is a UsageFault (STKOF) that ends in Fault_Handler. */
  __asm__ volatile("msr msplim, %0" ::"r"(__stack_bottom));
#endif
  for (dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  /* Paint the stack below this frame, for mote_fw_stack_used. */
  for (dst = __stack_bottom; dst < (uint32_t*)__builtin_frame_address(0) - 16;) *dst++ = STACK_PAINT;
  n = (size_t)(__init_array_end - __init_array_start);
  for (i = 0; i < n; ++i) __init_array_start[i]();
  mote_board_halt(main());
}

void Fault_Report(void);
void Fault_Report(void) {
  static const char msg[] = "firmware: hard fault\n";
  mote_board_write(msg, sizeof msg - 1);
  mote_board_halt(3);
}

/* A stack overflow may be what faulted: back to the top of the stack before
 * any C code runs, then report and halt. */
__attribute__((naked)) void Fault_Handler(void) {
  __asm__ volatile(
      "ldr r0, =__stack_top\n\t"
      "msr msp, r0\n\t"
      "b Fault_Report\n\t"
      ".ltorg");
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
};
