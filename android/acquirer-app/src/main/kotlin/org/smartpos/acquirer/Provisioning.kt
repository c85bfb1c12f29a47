package org.smartpos.acquirer

import android.content.Context
import org.json.JSONObject
import java.io.File

/**
 * What the bank provisions on a terminal: its host, identity and the market's root key. The
 * acquiring app reads it from `files/smartpos/provisioning.json` (written by the bank's
 * provisioning tool); nothing in it is secret (the result-signing key lives in [KeyVault]).
 *
 * ```kotlin
 * val p = Provisioning.load(context) ?: return showNotProvisioned()
 * ```
 *
 * @property hostUrl the bank's internet front, `https://...`.
 * @property gatewayUrl the QR gateway, or null when QR payments are not offered.
 * @property caPem the CA the front's certificate must chain to.
 * @property marketRootKey the bank's market root public key (hex): only APKs its market keys
 *   signed are launched, installed and allowed to request payments.
 * @property revocationsJson the newest revocation list the root signed, if any.
 * @property profileJson the acquirer profile, or null for the CUP defaults.
 */
data class Provisioning(
    val hostUrl: String,
    val gatewayUrl: String?,
    val caPem: String,
    val terminalId: String,
    val merchantId: String,
    val merchantName: String,
    val marketRootKey: String,
    val revocationsJson: String? = null,
    val profileJson: String? = null,
) {
    /** The JSON form (the file's content). */
    fun toJson(): String = JSONObject().apply {
        put("host_url", hostUrl)
        gatewayUrl?.let { put("gateway_url", it) }
        put("ca_pem", caPem)
        put("terminal_id", terminalId)
        put("merchant_id", merchantId)
        put("merchant_name", merchantName)
        put("market_root_key", marketRootKey)
        revocationsJson?.let { put("revocations", it) }
        profileJson?.let { put("profile", it) }
    }.toString(2)

    /** Writes this provisioning for [context]'s app (the bank's tool, and tests). */
    fun save(context: Context) {
        val f = file(context)
        f.parentFile?.mkdirs()
        val tmp = File(f.path + ".tmp")
        tmp.writeText(toJson())
        check(tmp.renameTo(f)) { "could not write $f" }
    }

    companion object {
        /** Where the provisioning lives. */
        fun file(context: Context) = File(context.filesDir, "smartpos/provisioning.json")

        /** The terminal's provisioning, or null when the bank has not provisioned it. */
        fun load(context: Context): Provisioning? = file(context).takeIf { it.isFile }?.let { parse(it.readText()) }

        /** Parses the JSON form; a missing field is an [IllegalArgumentException] naming it. */
        fun parse(json: String): Provisioning {
            val o = JSONObject(json)
            fun req(k: String) = o.optString(k).takeIf { it.isNotEmpty() }
                ?: throw IllegalArgumentException("provisioning: '$k' is missing")
            fun opt(k: String) = if (o.has(k) && !o.isNull(k)) o.getString(k) else null
            return Provisioning(
                hostUrl = req("host_url"),
                gatewayUrl = opt("gateway_url"),
                caPem = req("ca_pem"),
                terminalId = req("terminal_id"),
                merchantId = req("merchant_id"),
                merchantName = req("merchant_name"),
                marketRootKey = req("market_root_key"),
                revocationsJson = opt("revocations"),
                profileJson = opt("profile"),
            )
        }
    }
}
