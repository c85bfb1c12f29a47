package com.example.merchant

import org.smartpos.core.SentRequest
import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * The acquiring app of a simulated terminal, for running the shop without hardware: each request
 * goes to `smartpos terminal handle-request`, which signs in to the host, runs the transaction
 * with a simulated card reader and PIN pad, and prints the signed result deep link, exactly the
 * link a real terminal would open. The caller identity is what Android would report for this
 * app: package `com.example.merchant` and its signing-certificate digest.
 *
 * ```kotlin
 * val terminal = SimulatedTerminal(Path.of("target/debug/smartpos"), dataDir, host.url, host.ca)
 * val checkout = Checkout(PaymentClient(terminal.publicKey(), callback = "shop://paid"), terminal, pending)
 * ```
 */
class SimulatedTerminal(
    private val smartpos: Path,
    private val dataDir: Path,
    private val hostUrl: String,
    private val ca: Path,
    /** The test card the simulated customer presents (see the simulator's test cards). */
    var card: String = "6222021234567890123",
) : AcquiringApp {
    override fun handle(request: SentRequest): String {
        val link = request.deepLink ?: throw IllegalArgumentException("the simulated terminal takes deep links")
        return run(
            "--host", hostUrl, "--ca", ca.toString(), "handle-request", "--uri", link,
            "--caller-package", PACKAGE, "--caller-cert-sha256", CERT_SHA256, "--card", card,
        )
    }

    /** The terminal's result-signing public key (hex), as the bank publishes it. */
    fun publicKey(): String = run("public-key")

    /** The terminal's journal as JSON (masked card numbers), for checking what was charged. */
    fun journalJson(): String = run("journal", "--json")

    private fun run(vararg args: String): String {
        val cmd = listOf(smartpos.toString(), "terminal", "--data-dir", dataDir.toString()) + args
        val outFile = Files.createTempFile("smartpos-terminal", ".out")
        val errFile = Files.createTempFile("smartpos-terminal", ".err")
        try {
            val proc = ProcessBuilder(cmd).redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start()
            if (!proc.waitFor(120, TimeUnit.SECONDS)) {
                proc.destroyForcibly()
                throw IOException("smartpos terminal ${args.first()} did not finish")
            }
            if (proc.exitValue() != 0) {
                throw IOException("smartpos terminal ${args.first()} failed: ${Files.readString(errFile)}")
            }
            return Files.readString(outFile).trim()
        } finally {
            Files.deleteIfExists(outFile)
            Files.deleteIfExists(errFile)
        }
    }

    companion object {
        /** This sample's package name. */
        const val PACKAGE = "com.example.merchant"

        /** SHA-256 of the sample's signing certificate, on the simulated terminal's allow-list. */
        const val CERT_SHA256 = "3967fb7852caa93cadb5613e0c475c7560293e96d7c9b801314c2869570351aa"
    }
}
