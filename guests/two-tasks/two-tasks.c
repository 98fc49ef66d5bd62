/*
 * two-tasks: a freestanding 64-bit guest for kvmfs boot. It sets up an
 * IDT, programs the 8259 PIC and the 8254 PIT (100 Hz on IRQ0), and runs
 * two tasks that the timer interrupt switches between (the context switch
 * is in irq0_entry, start.S). Each task prints STEPS lines to the console
 * port, waiting for the next tick after each; the second to finish writes
 * the exit status 0 to the shutdown port.
 *
 * Ports: 0xe9 console (one byte per out, as Bochs/QEMU debugcon), 0xf4
 * shutdown (a byte: the exit status, as QEMU's isa-debug-exit).
 */
#include <stdint.h>

#define CONSOLE_PORT 0xe9
#define SHUTDOWN_PORT 0xf4
#define STEPS 10
#define TASK_STACK 16384
#define PIC_VECTOR_BASE 0x20
#define PIT_HZ 100
#define PIT_INPUT_HZ 1193182
#define KERNEL_CS 0x08
#define KERNEL_SS 0x10
#define LOCAL_APIC 0xfee00000UL
#define APIC_SPURIOUS 0xf0
#define APIC_LVT_LINT0 0x350
#define SPURIOUS_VECTOR 0xff

extern char irq0_entry[], spurious_entry[], exception_stubs[];

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void print(const char *text)
{
    while (*text)
        outb(CONSOLE_PORT, (uint8_t)*text++);
}

static void print_number(unsigned long value)
{
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n)
        outb(CONSOLE_PORT, (uint8_t)digits[--n]);
}

static void shutdown(uint8_t status)
{
    outb(SHUTDOWN_PORT, status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* An IDT entry: a 64-bit interrupt gate (interrupts off in the handler). */
struct idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t zero;
} __attribute__((packed));

static struct idt_entry idt[256];

static void set_gate(int vector, void *handler)
{
    uint64_t address = (uint64_t)handler;
    idt[vector] = (struct idt_entry){
        .offset_low = (uint16_t)address,
        .selector = KERNEL_CS,
        .type_attributes = 0x8e, /* present, dpl 0, 64-bit interrupt gate */
        .offset_middle = (uint16_t)(address >> 16),
        .offset_high = (uint32_t)(address >> 32),
    };
}

static void load_idt(void)
{
    for (int vector = 0; vector < 32; vector++)
        set_gate(vector, exception_stubs + 16 * vector);
    for (int vector = PIC_VECTOR_BASE; vector < PIC_VECTOR_BASE + 16; vector++)
        set_gate(vector, spurious_entry);
    set_gate(PIC_VECTOR_BASE, irq0_entry);
    set_gate(SPURIOUS_VECTOR, spurious_entry);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) pointer = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(pointer));
}

static void apic_write(unsigned offset, uint32_t value)
{
    *(volatile uint32_t *)(LOCAL_APIC + offset) = value;
}

/*
 * Both 8259s: vectors 0x20..0x2f, cascade on IRQ2, only IRQ0 unmasked.
 * The PIC's interrupt reaches the CPU through the local APIC's LINT0 in
 * ExtINT mode ("virtual wire", as a PC BIOS leaves it): the APIC is
 * enabled (an APIC that is not keeps its LVT entries masked) and LINT0 set
 * so, whatever state the vcpu was reset to.
 */
static void program_pic(void)
{
    apic_write(APIC_SPURIOUS, 0x100 | SPURIOUS_VECTOR);
    apic_write(APIC_LVT_LINT0, 0x700);
    outb(0x20, 0x11); /* ICW1: initialize, ICW4 follows */
    outb(0xa0, 0x11);
    outb(0x21, PIC_VECTOR_BASE); /* ICW2: vector base */
    outb(0xa1, PIC_VECTOR_BASE + 8);
    outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
    outb(0xa1, 0x02);
    outb(0x21, 0x01); /* ICW4: 8086 mode */
    outb(0xa1, 0x01);
    outb(0x21, 0xfe); /* masks */
    outb(0xa1, 0xff);
}

/* PIT channel 0, mode 2 (rate generator), PIT_HZ interrupts a second. */
static void program_pit(void)
{
    uint16_t divisor = PIT_INPUT_HZ / PIT_HZ;
    outb(0x43, 0x34);
    outb(0x40, (uint8_t)divisor);
    outb(0x40, (uint8_t)(divisor >> 8));
}

/* What iretq pops, under the registers irq0_entry pushes (r15 lowest). */
struct context {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct task {
    struct context *saved;
    uint8_t stack[TASK_STACK] __attribute__((aligned(16)));
};

static struct task tasks[2];
static int current = -1; /* -1: the boot context, left for good at the first tick */
static volatile unsigned long ticks;
static volatile int finished;

static void task_body(char name)
{
    for (int step = 0; step < STEPS; step++) {
        /* interrupts off while printing, as a kernel holds its console lock: a tick never splits a line */
        __asm__ volatile("cli");
        print("task ");
        outb(CONSOLE_PORT, (uint8_t)name);
        print(": step ");
        print_number((unsigned long)step);
        print("\n");
        __asm__ volatile("sti");
        /* hlt until the next tick: it switches to the other task, and back */
        unsigned long seen = ticks;
        while (ticks == seen)
            __asm__ volatile("hlt");
    }
    __asm__ volatile("cli");
    if (++finished == 2) {
        print("two-tasks: both tasks done after ");
        print_number(ticks);
        print(" ticks\n");
        shutdown(0);
    }
    __asm__ volatile("sti");
    for (;;)
        __asm__ volatile("hlt");
}

static void task_a(void) { task_body('A'); }
static void task_b(void) { task_body('B'); }

/* A task starts as if interrupted at its first instruction, interrupts on. */
static void start_task(struct task *task, void (*entry)(void))
{
    struct context *context = (struct context *)(task->stack + TASK_STACK) - 1;
    *context = (struct context){
        .rip = (uint64_t)entry,
        .cs = KERNEL_CS,
        .rflags = 0x202,
        .rsp = (uint64_t)(task->stack + TASK_STACK - 8), /* as after a call: rsp + 8 16-byte aligned */
        .ss = KERNEL_SS,
    };
    task->saved = context;
}

/* IRQ0: count the tick, acknowledge it, and switch to the other task. */
struct context *timer_interrupt(struct context *interrupted)
{
    ticks++;
    outb(0x20, 0x20); /* EOI */
    if (current >= 0)
        tasks[current].saved = interrupted;
    current = current == 0 ? 1 : 0;
    return tasks[current].saved;
}

void exception(uint64_t vector, uint64_t *stack)
{
    print("two-tasks: exception ");
    print_number(vector);
    print(" at rip ");
    print_number(stack[vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ? 1 : 0]);
    print("\n");
    shutdown(3);
}

void main(void)
{
    print("two-tasks: starting\n");
    load_idt();
    program_pic();
    program_pit();
    start_task(&tasks[0], task_a);
    start_task(&tasks[1], task_b);
    __asm__ volatile("sti");
    for (;;)
        __asm__ volatile("hlt");
}
