/* Test helper (namespaces.sh): send one message to the POSIX message queue NAME (mq_send is
 * no file call: collrun never sees it), changing what the queue's file in an mqueue mount
 * reads (QSIZE). Usage: mq_send /NAME MESSAGE */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	mqd_t q = mq_open(argv[1], O_WRONLY);
	if (q == (mqd_t)-1)
		return perror("mq_open"), 1;
	if (mq_send(q, argv[2], strlen(argv[2]), 0) < 0)
		return perror("mq_send"), 1;
	return mq_close(q) < 0;
}
