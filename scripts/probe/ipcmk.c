/* A tiny static stand-in for util-linux `ipcmk -M SIZE`, which busybox lacks. It creates a
 * System V shared memory segment with a fresh key and prints
 *   Shared memory id: <id>
 *   Key: 0x<key>
 * so that tests can look for the segment in /proc/sysvipc/shm on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "-M") != 0) {
        fprintf(stderr, "usage: ipcmk -M SIZE\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int tries = 0; tries < 100; tries++) {
        key_t key = (key_t)(((unsigned)rand() << 1) ^ (unsigned)rand());
        int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0644);
        if (id >= 0) {
            printf("Shared memory id: %d\nKey: 0x%08x\n", id, (unsigned)key);
            return 0;
        }
    }
    perror("ipcmk: shmget");
    return 1;
}
