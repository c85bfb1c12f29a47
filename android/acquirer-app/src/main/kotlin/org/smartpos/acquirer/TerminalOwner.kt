package org.smartpos.acquirer

import android.content.Context
import android.os.Build
import android.util.Log
import org.smartpos.terminal.AcquiringSetup
import org.smartpos.terminal.AcquiringTerminal
import org.smartpos.terminal.CodeScreen
import org.smartpos.terminal.MarketApp
import org.smartpos.terminal.MarketCheck
import org.smartpos.terminal.MarketCheckException
import org.smartpos.terminal.RequestAnswer
import java.io.File
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.Future

/**
 * The one owner of the terminal in this process: a single worker thread runs every request, so
 * two payments never share the card reader; a request that arrives while one runs is answered
 * at once with a signed `REFUSED_BUSY` (the merchant app retries with the same order id, or
 * queries it). Between processes the core's journal lock does the same.
 *
 * A request is known by its content ([IncomingRequest.key]): an activity recreated mid-payment
 * (rotation, a configuration change) attaches to the same job instead of starting another. A
 * process killed mid-payment loses nothing the journal committed: the next request's recovery
 * finishes or reverses the payment, and the merchant app's query gets its final answer.
 *
 * ```kotlin
 * val owner = TerminalOwner.get(context)            // from the provisioning, the key vault, the drivers
 * val answer = owner.submit(request, caller).get()  // on a worker thread, never the UI thread
 * ```
 */
class TerminalOwner(
    private val terminal: AcquiringTerminal,
    /** The market's check of installed APKs: the caller's verdict is its allow-list entry. */
    val market: MarketCheck,
    /** The drivers, to cancel what waits for the customer. */
    val drivers: Drivers,
    /** Where customer-scans-merchant codes go (the payment screen in front). */
    private val screen: ForwardingScreen,
) {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor { r -> Thread(r, "smartpos-terminal").apply { isDaemon = true } }
    private val jobs = ConcurrentHashMap<String, Future<RequestAnswer>>()
    private var running: String? = null

    /**
     * Restart recovery, queued first on the worker: what a killed process left open (QR orders,
     * pending reversals) is finished before the first request runs; requests wait behind it.
     */
    val recovered: Future<Boolean> = worker.submit<Boolean> {
        try {
            terminal.recover()
        } catch (e: Exception) {
            Log.w(TAG, "recovery at start: ${e.message}")
            false
        }
    }

    /** The terminal's result-signing public key (hex), which merchant apps verify against. */
    val publicKeyHex: String get() = terminal.publicKeyHex()

    /**
     * Runs [request] from [caller] (null: Android did not say who asked; the core refuses it
     * with a signed `REFUSED_CALLER`). Returns the job already running for the same request, if
     * any.
     */
    fun submit(request: IncomingRequest, caller: CallerResolver.Caller?): Future<RequestAnswer> = synchronized(this) {
        jobs[request.key]?.let { return it }
        val pkg = caller?.packageName ?: ""
        val certs = caller?.certSha256.orEmpty()
        if (running != null) {
            return CompletableFuture.completedFuture(terminal.busy(request.carrier(), pkg, certs))
        }
        running = request.key
        val job = worker.submit<RequestAnswer> {
            try {
                terminal.setAllowedApps(listOfNotNull(caller?.let { verdict(it) }))
                terminal.handle(request.carrier(), pkg, certs)
            } finally {
                synchronized(this) { running = null }
            }
        }
        jobs[request.key] = job
        return job
    }

    /** Forgets a delivered answer (an activity recreated after delivery does not deliver twice). */
    fun delivered(request: IncomingRequest) {
        jobs.remove(request.key)
    }

    /** Cancels the driver call waiting for the customer; the request ends DECLINED (cancelled). */
    fun cancel() = drivers.cancel()

    /** Shows codes on [target] while it is in front (null: none). */
    fun showCodesOn(target: CodeScreen?) {
        screen.target = target
    }

    /** The market verdict of [caller]'s installed APK; null when refused (the caller is then not allowed). */
    private fun verdict(caller: CallerResolver.Caller): MarketApp? {
        val apk = caller.sourceDir ?: return null
        return try {
            market.launchCheck(apk)
        } catch (e: MarketCheckException) {
            Log.w(TAG, "${caller.packageName} is not market-verified: ${e.message}")
            null
        }
    }

    /** Forwards codes to the screen in front. */
    class ForwardingScreen : CodeScreen {
        @Volatile var target: CodeScreen? = null
        override fun showCode(payload: String) {
            target?.showCode(payload) ?: Log.w(TAG, "a QR code is ready but no payment screen is in front")
        }
    }

    companion object {
        private const val TAG = "smartpos"

        @Volatile private var instance: TerminalOwner? = null

        /** The process's owner, built at first use from the provisioning; null when not provisioned. */
        fun get(context: Context): TerminalOwner? = instance ?: synchronized(this) {
            instance ?: run {
                val app = context.applicationContext ?: context
                val p = Provisioning.load(app) ?: return null
                start(app, p, DriverFactory.fromManifest(app).create(app))
            }
        }

        /** Builds the owner for [provisioning] and [drivers] (the app's start, and tests). */
        fun start(context: Context, provisioning: Provisioning, drivers: Drivers): TerminalOwner = synchronized(this) {
            instance?.close()
            // The library through the JVM too (JNI_OnLoad): its log goes to logcat from here on.
            runCatching { NativeBridge.load(TAG) }.onFailure { Log.w(TAG, "JNI entry not loaded: $it") }
            val dir = File(context.filesDir, "smartpos").apply { mkdirs() }
            val vault = KeyVault(context.noBackupFilesDir)
            val screen = ForwardingScreen()
            val terminal = AcquiringTerminal(
                AcquiringSetup(
                    journalPath = File(dir, "journal.db").path,
                    hostUrl = provisioning.hostUrl,
                    caPem = provisioning.caPem,
                    terminalKeyHex = vault.terminalKeyHex(),
                    allowListJson = """{"apps":[]}""",
                    terminalId = provisioning.terminalId,
                    merchantId = provisioning.merchantId,
                    merchantName = provisioning.merchantName,
                    profileJson = provisioning.profileJson,
                    gatewayUrl = provisioning.gatewayUrl,
                ),
                drivers.cardReader, drivers.pinPad, drivers.scanner, screen,
            )
            val market = MarketCheck(provisioning.marketRootKey, provisioning.revocationsJson, Build.VERSION.SDK_INT.toUInt())
            TerminalOwner(terminal, market, drivers, screen).also { instance = it }
        }

        /** The process's owner if it was built. */
        fun current(): TerminalOwner? = instance

        /** Drops the process's owner (tests: a new process). */
        fun reset() = synchronized(this) { instance?.close(); instance = null }
    }

    private fun close() {
        worker.shutdownNow()
        terminal.destroy()
    }
}
