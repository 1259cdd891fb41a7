/* Startup for the Arm MPS2 boards qemu emulates (mps2-an386 Cortex-M4,
 * mps2-an500 Cortex-M7): vector table, reset (FPU on, .data copied from flash,
 * .bss zeroed, constructors), fault report, and the board hooks of
 * mote/board.h. The console is the CMSDK UART0 at 0x40004000 (qemu: -serial
 * stdio or -nographic); exits go through semihosting (qemu -semihosting). */
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

#define STACK_PAINT 0xA5A5A5A5u

/* Bytes of the stack ever written since reset (the stack is painted first). */
size_t mote_fw_stack_used(void) {
  const uint32_t* p = __stack_bottom;
  while (p < __stack_top && *p == STACK_PAINT) ++p;
  return (size_t)((const char*)__stack_top - (const char*)p);
}

#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)
#define UART0 0x40004000u

typedef struct {
  volatile uint32_t data, state, ctrl, intstatus, bauddiv;
} cmsdk_uart;

void mote_board_write(const char* s, size_t n) {
  cmsdk_uart* u = (cmsdk_uart*)UART0;
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
  SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU */
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  for (dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  /* Paint the stack below this frame, for mote_fw_stack_used. */
  for (dst = __stack_bottom; dst < (uint32_t*)__builtin_frame_address(0) - 16;) *dst++ = STACK_PAINT;
  n = (size_t)(__init_array_end - __init_array_start);
  for (i = 0; i < n; ++i) __init_array_start[i]();
  mote_board_halt(main());
}

void Fault_Handler(void) {
  static const char msg[] = "firmware: hard fault\n";
  mote_board_write(msg, sizeof msg - 1);
  mote_board_halt(3);
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
