package org.smartpos.acquirer

import android.app.Activity
import android.content.pm.PackageManager
import android.os.Build
import java.security.MessageDigest

/**
 * Who is asking, from Android and never from the request: the calling package
 * (`startActivityForResult`), or on API 34+ the package that launched the activity when it
 * chose to share its identity (`ActivityOptions.setShareIdentityEnabled`), with the SHA-256 of
 * its signing certificates from the package manager (the current signer first, then its
 * rotation history).
 *
 * ```kotlin
 * val caller = CallerResolver.resolve(activity) ?: return refuseUnidentified()
 * ```
 */
object CallerResolver {
    /** A caller the OS vouches for. */
    data class Caller(val packageName: String, val certSha256: List<String>, val sourceDir: String?)

    /** The caller of [activity], or null when Android does not say who it is. */
    fun resolve(activity: Activity): Caller? {
        val pkg = activity.callingPackage ?: launchedFrom(activity) ?: return null
        return describe(activity.packageManager, pkg)
    }

    /** [pkg]'s signing certificates and installed APK, or null when it is not installed. */
    fun describe(pm: PackageManager, pkg: String): Caller? {
        val info = try {
            @Suppress("DEPRECATION")
            if (Build.VERSION.SDK_INT >= 28) pm.getPackageInfo(pkg, PackageManager.GET_SIGNING_CERTIFICATES)
            else pm.getPackageInfo(pkg, PackageManager.GET_SIGNATURES)
        } catch (e: PackageManager.NameNotFoundException) {
            return null
        }
        val certs = if (Build.VERSION.SDK_INT >= 28) {
            val s = info.signingInfo ?: return Caller(pkg, emptyList(), info.applicationInfo?.sourceDir)
            if (s.hasMultipleSigners()) s.apkContentsSigners.toList()
            else s.signingCertificateHistory.orEmpty().toList().reversed()
        } else {
            @Suppress("DEPRECATION")
            info.signatures.orEmpty().toList()
        }
        val digests = certs.map { sha256Hex(it.toByteArray()) }.distinct()
        return Caller(pkg, digests, info.applicationInfo?.sourceDir)
    }

    private fun launchedFrom(activity: Activity): String? =
        if (Build.VERSION.SDK_INT >= 34) runCatching { activity.launchedFromPackage }.getOrNull() else null

    private fun sha256Hex(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }
}
