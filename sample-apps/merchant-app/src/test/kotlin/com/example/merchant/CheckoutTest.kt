package com.example.merchant

import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import org.smartpos.sdk.Money
import org.smartpos.sdk.parse
import org.smartpos.sdk.PaymentClient
import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** The `smartpos` command the build made; its absence is a failure, never a skip. */
private val smartpos: Path = Path.of(
    System.getProperty("smartpos.bin") ?: error("system property smartpos.bin is not set (run through scripts/test.sh)"),
).also { require(Files.isExecutable(it)) { "smartpos command not found at $it: build it with cargo build -p smartpos-cli" } }

/** A `smartpos host-sim` process with its own state directory. */
private class HostSim(state: Path, faults: String? = null) : AutoCloseable {
    private val proc: Process
    val url: String
    val ca: Path = state.resolve("ca.pem")

    init {
        val cmd = mutableListOf(smartpos.toString(), "host-sim", "--bind", "127.0.0.1:0", "--state", state.toString())
        if (faults != null) cmd += listOf("--faults", faults)
        proc = ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val line = proc.inputStream.bufferedReader().readLine() ?: error("host-sim exited before listening")
        check("listening on " in line) { "unexpected host-sim output: $line" }
        url = line.substringAfter("listening on ").trim()
    }

    override fun close() {
        proc.destroy()
        if (!proc.waitFor(10, TimeUnit.SECONDS)) proc.destroyForcibly()
    }
}

/**
 * The sample shop against the simulated terminal and host: what its users see. Each test has its
 * own host, because every simulated terminal has the same terminal id and its own trace numbers.
 */
class CheckoutTest {
    private val cny = { text: String -> Money.parse(text, "CNY") }
    private val hosts = mutableListOf<HostSim>()

    @AfterEach
    fun stopHosts() = hosts.forEach { it.close() }

    private class Shop(val terminal: SimulatedTerminal, val pending: PendingOrders, acquirer: AcquiringApp = terminal) {
        val client = PaymentClient(terminal.publicKey(), callback = "shop://paid")
        val checkout = Checkout(client, acquirer, pending)

        /** How many journal records the terminal holds for [order] (each is one charge attempt). */
        fun recordsFor(order: String): Int =
            Regex("\"caller\": \"com.example.merchant\",\\s*\"order_id\": \"${Regex.escape(order)}\"")
                .findAll(terminal.journalJson()).count()
    }

    /** A shop in [dir] with its own terminal, against [host] (by default a new, well-behaved one). */
    private fun shop(dir: Path, host: HostSim = host(dir)) =
        Shop(SimulatedTerminal(smartpos, dir.resolve("terminal"), host.url, host.ca), PendingOrders(dir.resolve("pending")))

    private fun host(dir: Path, faults: String? = null): HostSim {
        val existing = hosts.firstOrNull()
        if (existing != null && faults == null) return existing
        return HostSim(dir.resolve("host-${hosts.size}"), faults).also { hosts += it }
    }

    @Test
    fun anApprovedSaleIsPaidWithItsReference(@TempDir dir: Path) {
        val shop = shop(dir)
        val paid = assertInstanceOf(Payment.Paid::class.java, shop.checkout.pay("A-1", cny("12.34")))
        assertEquals(12, paid.reference.length)
        assertEquals("622202*********0123", paid.maskedPan)
        assertEquals(emptyList<String>(), shop.pending.all())
    }

    @Test
    fun aDeclinedCardIsNotChargedAndSaysWhy(@TempDir dir: Path) {
        val shop = shop(dir)
        shop.terminal.card = "6222020000000000055" // insufficient funds above 1.00
        val declined = assertInstanceOf(Payment.NotCharged::class.java, shop.checkout.pay("D-1", cny("5.00")))
        assertEquals("51", declined.hostCode)
        assertEquals("insufficient funds", declined.reason)
        assertEquals(emptyList<String>(), shop.pending.all())
    }

    @Test
    fun anAppKilledAfterHandingOverFindsTheResultWithoutASecondCharge(@TempDir dir: Path) {
        val first = shop(dir)
        // The acquiring app takes the payment, but the shop dies before it reads the result.
        val dying = AcquiringApp { sent -> first.terminal.handle(sent); throw IOException("app killed") }
        assertThrows<IOException> { Checkout(first.client, dying, first.pending).pay("K-1", cny("8.00")) }
        assertEquals(listOf("K-1"), first.pending.all())

        // Restarted: a new process with only the pending-orders file.
        val restarted = shop(dir)
        val recovered = restarted.checkout.recover()
        assertEquals(1, recovered.size)
        assertInstanceOf(Payment.Paid::class.java, recovered.single())
        assertEquals(emptyList<String>(), restarted.pending.all())
        assertEquals(1, restarted.recordsFor("K-1"), "charged exactly once")
    }

    @Test
    fun aTamperedResultIsNotTrustedAndTheQueryGivesTheTruth(@TempDir dir: Path) {
        val shop = shop(dir)
        val tampering = AcquiringApp { sent -> shop.terminal.handle(sent).replace("amount=900", "amount=9") }
        val pending = Checkout(shop.client, tampering, shop.pending).pay("T-1", cny("9.00"))
        assertInstanceOf(Payment.Pending::class.java, pending)
        assertEquals(listOf("T-1"), shop.pending.all())
        assertInstanceOf(Payment.Paid::class.java, shop.checkout.recover().single())
        assertEquals(1, shop.recordsFor("T-1"))
    }

    @Test
    fun aLostBankAnswerIsPendingUntilTheTerminalResolvesIt(@TempDir dir: Path) {
        // This host charges the card and then loses its answer.
        val shop = shop(dir, host(dir, faults = "drop-after-commit"))
        val first = shop.checkout.pay("U-1", cny("3.00"))
        assertInstanceOf(Payment.Pending::class.java, first, "never reported as failure")
        assertEquals(listOf("U-1"), shop.pending.all())
        // The query makes the terminal reverse it: final, and not charged.
        val resolved = assertInstanceOf(Payment.NotCharged::class.java, shop.checkout.recover().single())
        assertTrue(resolved.reason.contains("reversed"), resolved.reason)
        assertEquals(emptyList<String>(), shop.pending.all())
    }

    @Test
    fun aPaidOrderCanBeRefundedInPart(@TempDir dir: Path) {
        val shop = shop(dir)
        val paid = assertInstanceOf(Payment.Paid::class.java, shop.checkout.pay("R-1", cny("20.00")))
        assertInstanceOf(Payment.Paid::class.java, shop.checkout.refund("R-1-refund", paid.reference, cny("5.00")))
        // More than what is left of the sale is refused by the bank's rules.
        assertInstanceOf(Payment.NotCharged::class.java, shop.checkout.refund("R-1-refund-2", paid.reference, cny("15.01")))
    }

    @Test
    fun anOrderTheTerminalNeverReceivedIsNotCharged(@TempDir dir: Path) {
        val shop = shop(dir)
        shop.pending.add("N-1") // killed after recording, before handing over
        assertInstanceOf(Payment.NotCharged::class.java, shop.checkout.recover().single())
        assertEquals(emptyList<String>(), shop.pending.all())
    }
}
