package org.smartpos.acquirer

import com.example.vendor.Ciphers
import com.example.vendor.SampleDriverSet
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.smartpos.android.PaymentResult
import org.smartpos.core.ResultCode
import org.smartpos.sdk.Money
import org.smartpos.terminal.AcquiringSetup
import org.smartpos.terminal.AcquiringTerminal
import org.smartpos.terminal.KeyCipher
import org.smartpos.terminal.MarketCheck
import org.smartpos.terminal.RequestCarrier
import java.io.File
import java.util.concurrent.TimeUnit

/**
 * The acquiring app's process dies mid-payment, for real: a child JVM runs the same terminal
 * (same journal, same key) and the core aborts it (SIGABRT) right after the host answered,
 * before the outcome was journaled. The next request in the new process recovers: the merchant
 * app's query of its order gets a final answer, never "in progress" and never a charge kept
 * without the app knowing.
 */
@RunWith(RobolectricTestRunner::class)
class KilledProcessTest : TerminalSuite() {

    @Test
    fun a_process_killed_after_the_host_approved_leaves_an_order_the_merchants_query_resolves() {
        val (shop, payments) = t.merchant()
        payments.sale(shop, Money(5555u, "CNY"), "K-1")
        val sent = shadowOf(shop).nextStartedActivityForResult
        val extras = sent.intent.extras!!.keySet().filter { it.startsWith("smartpos.") }
            .associateWith { sent.intent.getStringExtra(it)!! }

        val journal = File(t.app.filesDir, "smartpos/journal.db")
        val key = KeyVault(t.app.noBackupFilesDir).terminalKeyHex()
        val ca = tmp.newFile("ca.pem").apply { writeText(t.host.caPem) }
        val java = File(System.getProperty("java.home"), "bin/java").path
        val cmd = listOf(java, "-cp", System.getProperty("java.class.path"),
            "-Djna.library.path=" + System.getProperty("jna.library.path"),
            ChildTerminal::class.java.name, journal.path, t.host.url, ca.path, key, Fixtures.rootKey,
            Fixtures.apks.resolve("merchant.apk").toString(), Fixtures.developerCertSha256()) +
            extras.map { (k, v) -> "$k=$v" }
        val child = ProcessBuilder(cmd).redirectErrorStream(true)
            .apply { environment()["SMARTPOS_CRASH_AT"] = "sale:answered" }.start()
        val output = child.inputStream.bufferedReader().readText()
        assertTrue("the child did not finish", child.waitFor(120, TimeUnit.SECONDS))
        assertNotEquals(
            "the child was not killed (is libsmartpos_terminal_ffi built with --features crash-injection?):\n$output",
            0, child.exitValue(),
        )
        assertTrue(output, output.contains("aborting at sale:answered"))

        // The acquiring app starts again: its recovery (queued first on the worker) reverses
        // the sale whose outcome was never journaled. Then the merchant app, restarted, asks for its order.
        val keyBefore = t.owner.publicKeyHex
        val restarted = TerminalOwner.start(t.app, t.provisioning, t.owner.drivers)
        assertTrue("recovery left something open", restarted.recovered.get(60, TimeUnit.SECONDS))
        val (shop2, payments2) = t.merchant()
        val r = t.pay({ a, _ -> payments2.query(a, "K-1") })
        // The outcome was never journaled, so the new process reversed the sale at the host:
        // the customer's money is back, and the merchant's answer says so (not charged).
        assertTrue("$r", r is PaymentResult.Declined)
        val o = (r as PaymentResult.Declined).outcome
        assertEquals("K-1", o.order)
        assertTrue(o.message, o.message.contains("revers", ignoreCase = true))
        assertEquals(keyBefore, restarted.publicKeyHex) // the same terminal key after the restart
        assertTrue(shop2.isFinishing.not())
    }
}

/** The acquiring terminal in a process of its own (the child of [KilledProcessTest]). */
object ChildTerminal {
    @JvmStatic
    fun main(args: Array<String>) {
        val (journal, hostUrl, caPath, keyHex, rootKey) = args
        val merchantApk = args[5]
        val certSha256 = args[6]
        val extras = args.drop(7).associate { it.substringBefore('=') to it.substringAfter('=') }
        val set = SampleDriverSet()
        val tmk = Fixtures.TMK_HEX.chunked(2).map { it.toInt(16).toByte() }.toByteArray()
        set.pinPad.loadMasterKey(KeyCipher.DES, tmk, Ciphers.kcv(KeyCipher.DES, tmk))
        set.presentCard("6222021234567890123=3012101")
        set.enterPin("123456")
        val terminal = AcquiringTerminal(
            AcquiringSetup(
                journalPath = journal, hostUrl = hostUrl, caPem = File(caPath).readText(), terminalKeyHex = keyHex,
                allowListJson = """{"apps":[]}""", gatewayUrl = null, terminalId = "10000001",
                merchantId = "898310048990001", merchantName = "Test shop", profileJson = null,
            ),
            set.cardReader, set.pinPad, null, null,
        )
        terminal.setAllowedApps(listOf(MarketCheck(rootKey, null, 34u).launchCheck(merchantApk)))
        val answer = terminal.handle(RequestCarrier.Intent(extras), Terminal.SHOP, listOf(certSha256))
        println("not killed: ${answer.code}")
    }
}
