package org.smartpos.acquirer

import android.app.Activity
import android.content.Intent
import android.content.pm.ApplicationInfo
import android.content.pm.PackageInfo
import android.content.pm.Signature
import android.content.pm.SigningInfo
import android.os.Looper
import com.example.vendor.Ciphers
import com.example.vendor.SampleDriverSet
import org.junit.After
import org.junit.Before
import org.junit.Rule
import org.junit.rules.TemporaryFolder
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import org.smartpos.android.PaymentResult
import org.smartpos.android.SmartposPayments
import org.smartpos.terminal.KeyCipher
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** What scripts/build-apks.sh made for these tests, and the smartpos command. */
object Fixtures {
    private fun prop(name: String) = System.getProperty(name)
        ?: error("system property $name is not set (run through scripts/test.sh)")

    val smartpos: Path = Path.of(prop("smartpos.bin"))
        .also { require(Files.isExecutable(it)) { "smartpos command not found at $it: cargo build -p smartpos-cli" } }
    val apks: Path = Path.of(prop("apks.dir"))
        .also { require(Files.isRegularFile(it.resolve("merchant.apk"))) { "no APKs in $it: run scripts/build-apks.sh first" } }
    val fixtures: Path = apks.resolve("fixtures")
    val rootKey: String get() = Files.readString(apks.resolve("market/root.pub")).trim()
    val developerCert: ByteArray get() = Files.readAllBytes(fixtures.resolve("developer-cert.der"))

    /** The test master key (the bank's key-injection for the simulated host). */
    const val TMK_HEX = "0123456789ABCDEFFEDCBA9876543210"

    /** SHA-256 of the developer certificate (hex), as the package manager would report it. */
    fun developerCertSha256(): String =
        java.security.MessageDigest.getInstance("SHA-256").digest(developerCert).joinToString("") { "%02x".format(it) }

    fun hex(s: String) = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
}

/** A `smartpos host-sim` process (the bank's front and the QR gateway) with its own state. */
class HostSim(state: Path) : AutoCloseable {
    private val proc: Process
    val url: String
    val caPem: String

    init {
        proc = ProcessBuilder(Fixtures.smartpos.toString(), "host-sim", "--bind", "127.0.0.1:0", "--state", state.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD).start()
        val line = proc.inputStream.bufferedReader().readLine() ?: error("host-sim exited before listening")
        check("listening on " in line) { "unexpected host-sim output: $line" }
        url = line.substringAfter("listening on ").trim()
        caPem = Files.readString(state.resolve("ca.pem"))
    }

    override fun close() {
        proc.destroy()
        if (!proc.waitFor(10, TimeUnit.SECONDS)) proc.destroyForcibly()
    }
}

/**
 * One simulated terminal under Robolectric: the acquiring app's owner over the sample vendor's
 * drivers against a host simulator, and merchant apps installed in the package manager with
 * market-signed (or not) APKs.
 */
class Terminal(dir: Path) : AutoCloseable {
    val app = RuntimeEnvironment.getApplication()
    val host = HostSim(dir.resolve("host"))
    val drivers = SampleDriverSet()
    val provisioning = Provisioning(
        hostUrl = host.url, gatewayUrl = host.url, caPem = host.caPem,
        terminalId = "10000001", merchantId = "898310048990001", merchantName = "Test shop",
        marketRootKey = Fixtures.rootKey,
    )
    /** The process's owner (a restart in a test replaces it). */
    val owner: TerminalOwner get() = TerminalOwner.current() ?: error("the terminal owner is not started")

    init {
        val tmk = Fixtures.hex(Fixtures.TMK_HEX)
        drivers.pinPad.loadMasterKey(KeyCipher.DES, tmk, Ciphers.kcv(KeyCipher.DES, tmk))
        provisioning.save(app)
        TerminalOwner.start(app, provisioning, SampleDriverFactory.drivers(drivers))
        install(SHOP, Fixtures.apks.resolve("merchant.apk"))
        install(OTHER_SHOP, Fixtures.fixtures.resolve("othershop.apk"))
        install(STRANGER, Fixtures.fixtures.resolve("developer-only.apk"))
    }

    /** Installs [pkg] from [apk] as signed by [cert] (what Android would report). */
    fun install(pkg: String, apk: Path, cert: ByteArray = Fixtures.developerCert) {
        val info = PackageInfo().apply {
            packageName = pkg
            longVersionCode = 1
            applicationInfo = ApplicationInfo().apply { packageName = pkg; sourceDir = apk.toString(); publicSourceDir = apk.toString() }
            signingInfo = SigningInfo().also { shadowOf(it).setSignatures(arrayOf(Signature(cert))) }
        }
        shadowOf(app.packageManager).installPackage(info)
    }

    /** A merchant app's activity and its payments client (the merchant SDK). */
    fun merchant(): Pair<Activity, SmartposPayments> {
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        return activity to SmartposPayments(activity, owner.publicKeyHex)
    }

    /** Presents the first test card (approves) and keys its PIN. */
    fun presentCard(pan: String = "6222021234567890123", expiry: String = "3012") {
        drivers.presentCard("$pan=${expiry}101")
        drivers.enterPin("123456")
    }

    /** Starts the payment activity for [intent] as Android would for [caller] (null: no caller identity). */
    fun open(intent: Intent, caller: String?): ActivityController<PaymentActivity> {
        val c = Robolectric.buildActivity(PaymentActivity::class.java, intent)
        caller?.let { shadowOf(c.get()).setCallingPackage(it) }
        return c.setup()
    }

    /** Runs a merchant request through the payment activity and opens its answer with the SDK. */
    fun pay(start: (Activity, SmartposPayments) -> Unit, caller: String? = SHOP): PaymentResult {
        val (shop, payments) = merchant()
        start(shop, payments)
        val sent = shadowOf(shop).nextStartedActivityForResult
        val screen = open(sent.intent, caller).get()
        awaitFinish(screen)
        val result = shadowOf(screen).resultIntent
        return payments.onActivityResult(sent.requestCode, shadowOf(screen).resultCode, result)!!
    }

    override fun close() {
        TerminalOwner.reset()
        host.close()
    }

    companion object {
        const val SHOP = "com.example.shop"
        const val OTHER_SHOP = "com.example.othershop"
        const val STRANGER = "com.example.stranger"

        /** Lets the main looper run until [activity] finishes (the answer arrives on a worker thread). */
        fun awaitFinish(activity: Activity, timeoutMs: Long = 60_000) {
            val end = System.currentTimeMillis() + timeoutMs
            while (!activity.isFinishing) {
                check(System.currentTimeMillis() < end) { "the payment screen did not finish in ${timeoutMs / 1000} s" }
                shadowOf(Looper.getMainLooper()).idle()
                Thread.sleep(10)
            }
        }
    }
}

/** A suite whose every test has its own simulated terminal ([t]) and host simulator. */
abstract class TerminalSuite {
    @get:Rule val tmp = TemporaryFolder()
    protected lateinit var t: Terminal

    @Before fun startTerminal() { t = Terminal(tmp.newFolder().toPath()) }
    @After fun stopTerminal() = t.close()
}
