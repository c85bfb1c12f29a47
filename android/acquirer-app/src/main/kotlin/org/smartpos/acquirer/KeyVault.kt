package org.smartpos.acquirer

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The terminal's result-signing key (Ed25519, 32 bytes).
 *
 * Where the Android Keystore is available (API 23+ on a device) the key is stored wrapped by an
 * AES-256-GCM key that is generated inside the Keystore and never leaves it
 * ([Protection.ANDROID_KEYSTORE]); the signing itself is done by the core (the Keystore offers
 * Ed25519 only from API 33 and not on every device). Without a Keystore (the host JVM, a
 * device without one) the key is kept in an app-private, no-backup file readable only by the
 * app ([Protection.APP_PRIVATE_FILE]); [protection] says which, for the bank's device report.
 *
 * ```kotlin
 * val vault = KeyVault(context.noBackupFilesDir)
 * val keyHex = vault.terminalKeyHex()   // created on first use, the same ever after
 * ```
 */
class KeyVault(private val dir: File) {
    /** How the key is protected at rest. */
    enum class Protection { ANDROID_KEYSTORE, APP_PRIVATE_FILE }

    private val keystore: KeyStore? = runCatching { KeyStore.getInstance(PROVIDER).apply { load(null) } }.getOrNull()

    /** Where the key is kept on this device. */
    val protection: Protection get() = if (keystore != null) Protection.ANDROID_KEYSTORE else Protection.APP_PRIVATE_FILE

    /** The key (64 hex digits); created at first use. Hold it no longer than needed. */
    @Synchronized
    fun terminalKeyHex(): String {
        dir.mkdirs()
        val ks = keystore
        val bytes = if (ks != null) wrapped(ks) else plainFile()
        return try { bytes.joinToString("") { "%02x".format(it) } } finally { bytes.fill(0) }
    }

    private fun wrapped(ks: KeyStore): ByteArray {
        val file = File(dir, "terminal-key.wrapped")
        val wrap = (ks.getKey(ALIAS, null) as? SecretKey) ?: KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).run {
            init(
                KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .build(),
            )
            generateKey()
        }
        if (file.isFile) {
            val blob = file.readBytes()
            val c = Cipher.getInstance("AES/GCM/NoPadding")
            c.init(Cipher.DECRYPT_MODE, wrap, GCMParameterSpec(128, blob, 0, 12))
            return c.doFinal(blob, 12, blob.size - 12)
        }
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, wrap)
        writeAtomically(file, c.iv + c.doFinal(key))
        return key
    }

    private fun plainFile(): ByteArray {
        val file = File(dir, "terminal-key")
        if (file.isFile) {
            val b = file.readBytes()
            require(b.size == 32) { "the terminal key file is damaged (${b.size} bytes)" }
            return b
        }
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        writeAtomically(file, key)
        return key
    }

    private fun writeAtomically(file: File, bytes: ByteArray) {
        val tmp = File(file.path + ".tmp")
        tmp.outputStream().use { it.write(bytes); it.fd.sync() }
        tmp.setReadable(false, false); tmp.setReadable(true, true)
        tmp.setWritable(false, false); tmp.setWritable(true, true)
        check(tmp.renameTo(file)) { "could not store the terminal key" }
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val ALIAS = "smartpos-terminal-key-wrap"
    }
}
