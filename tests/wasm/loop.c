/* loop: spins forever without calling the host, so only epoch
 * interruption can stop it. */
int main(void)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
