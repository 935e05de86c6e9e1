# The exec trampoline (see trampoline.rs): execve(argv[0], &argv[1], envp); on failure,
# "berth: exec <path> failed: errno N" on stderr and exit 127 (ENOENT) or 126.
# Regenerate the bytes in trampoline.rs with:
#   as -o t.o trampoline.s && objcopy -O binary -j .text t.o t.bin && xxd -i t.bin
.intel_syntax noprefix
.globl _start
_start:
  mov r12, [rsp+8]          # argv[0]: the program's path
  test r12, r12
  jz 5f                     # no arguments at all: nothing to run
  mov rdi, r12
  lea rsi, [rsp+16]         # argv[1..]: the program's own argv
  mov rcx, [rsp]            # argc
  lea rdx, [rsp+rcx*8+16]   # envp
  mov eax, 59               # execve
  syscall
  neg rax
  mov r13, rax              # errno
  lea rsi, [rip+prefix]
  mov edx, 12
  call say                  # "berth: exec "
  mov rsi, r12
  xor edx, edx
1:
  cmp byte ptr [rsi+rdx], 0
  je 2f
  inc rdx
  jmp 1b
2:
  call say                  # the path
  lea rsi, [rip+middle]
  mov edx, 15
  call say                  # " failed: errno "
  mov rax, r13
  lea rsi, [rsp-64]
  mov byte ptr [rsi], 10
  mov ecx, 10
3:
  xor edx, edx
  div rcx
  add dl, 48
  dec rsi
  mov [rsi], dl
  test rax, rax
  jnz 3b
  lea rdx, [rsp-63]
  sub rdx, rsi
  call say                  # the number and a newline
  mov edi, 126
  cmp r13, 2                # ENOENT: 127, like a shell
  jne 4f
5:
  mov edi, 127
4:
  mov eax, 231              # exit_group
  syscall
say:                        # write(2, rsi, rdx)
  mov edi, 2
  mov eax, 1
  syscall
  ret
prefix: .ascii "berth: exec "
middle: .ascii " failed: errno "
