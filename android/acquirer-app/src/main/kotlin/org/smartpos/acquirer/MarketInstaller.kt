package org.smartpos.acquirer

import android.content.Context
import android.content.IntentSender
import android.content.pm.PackageInstaller
import org.smartpos.terminal.MarketApp
import org.smartpos.terminal.MarketCheck
import org.smartpos.terminal.MarketCheckException
import java.io.File

/**
 * The market's installer on the terminal: copies the downloaded APK into the app's private
 * staging folder, verifies that copy with the core (Android signature at this SDK level, the
 * market signature, revocations), and only then writes the same bytes into a
 * `PackageInstaller` session and commits it. A refused APK never reaches a session.
 *
 * ```kotlin
 * when (val r = MarketInstaller(context, check).install(downloaded, statusReceiver)) {
 *     is MarketInstaller.Outcome.Committed -> showInstalling(r.app.`package`)
 *     is MarketInstaller.Outcome.Refused -> showRefused(r.reason)
 * }
 * ```
 */
class MarketInstaller(private val context: Context, private val check: MarketCheck) {
    /** What became of an install. */
    sealed interface Outcome {
        /** Verified and committed to Android's installer (which reports to the status receiver). */
        data class Committed(val sessionId: Int, val app: MarketApp) : Outcome

        /** Not market-verified: no session was created. */
        data class Refused(val reason: String) : Outcome
    }

    /** Verifies [apk] and, when it passes, commits it; [status] receives Android's result. */
    fun install(apk: File, status: IntentSender): Outcome {
        val staging = File(context.noBackupFilesDir, "market-staging").apply { mkdirs() }
        val staged = File.createTempFile("install", ".apk", staging)
        try {
            // Checked and installed from the same private copy: the download cannot change between.
            apk.inputStream().use { input -> staged.outputStream().use { input.copyTo(it) } }
            val app = try {
                check.installCheck(staged.path, null, null)
            } catch (e: MarketCheckException) {
                return Outcome.Refused(e.message ?: e.toString())
            } finally {
                check.forget(staged.path)
            }
            val installer = context.packageManager.packageInstaller
            val params = PackageInstaller.SessionParams(PackageInstaller.SessionParams.MODE_FULL_INSTALL)
                .apply { setAppPackageName(app.`package`) }
            val id = installer.createSession(params)
            installer.openSession(id).use { session ->
                session.openWrite("base.apk", 0, staged.length()).use { out ->
                    staged.inputStream().use { it.copyTo(out) }
                    session.fsync(out)
                }
                session.commit(status)
            }
            return Outcome.Committed(id, app)
        } finally {
            staged.delete()
        }
    }
}
