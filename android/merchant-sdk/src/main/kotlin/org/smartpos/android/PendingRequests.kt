package org.smartpos.android

import android.content.Context
import org.json.JSONObject
import org.smartpos.core.Money
import org.smartpos.core.SentRequest

/**
 * The requests this app handed to the acquiring app and has no final answer for, kept in the
 * app's private preferences so that a result arriving after the app was killed and restarted
 * can still be verified against its request, and so the app knows which orders to query.
 *
 * ```kotlin
 * PendingRequests(context).orders().forEach { payments.query(activity, it) }
 * ```
 */
class PendingRequests(context: Context) {
    private val prefs = context.getSharedPreferences("org.smartpos.android.pending", Context.MODE_PRIVATE)

    /** Keeps [sent] until its final answer (written synchronously: the app may die next). */
    fun save(sent: SentRequest) {
        prefs.edit().putString(KEY + sent.order, encode(sent).toString()).putString(LAST, sent.order).commit()
    }

    /** The request sent for [order], if its answer is still outstanding. */
    fun get(order: String): SentRequest? = prefs.getString(KEY + order, null)?.let { runCatching { decode(JSONObject(it)) }.getOrNull() }

    /** Forgets [order] (its answer is final). */
    fun remove(order: String) {
        prefs.edit().remove(KEY + order).commit()
    }

    /** Orders still waiting for a final answer: query them. */
    fun orders(): List<String> = prefs.all.keys.filter { it.startsWith(KEY) }.map { it.removePrefix(KEY) }.sorted()

    /** The order of the request started last. */
    fun last(): String? = prefs.getString(LAST, null)

    private fun encode(s: SentRequest) = JSONObject().apply {
        put("deepLink", s.deepLink ?: JSONObject.NULL)
        put("extras", JSONObject(s.intentExtras as Map<*, *>))
        put("requestHash", s.requestHash)
        put("order", s.order)
        s.amount?.let { put("minor", it.minor.toString()); put("currency", it.currency) }
        put("nonce", s.nonce)
        put("expires", s.expires)
    }

    private fun decode(o: JSONObject): SentRequest {
        val extras = o.getJSONObject("extras")
        return SentRequest(
            deepLink = if (o.isNull("deepLink")) null else o.getString("deepLink"),
            intentExtras = extras.keys().asSequence().associateWith { extras.getString(it) },
            requestHash = o.getString("requestHash"),
            order = o.getString("order"),
            amount = if (o.has("minor")) Money(o.getString("minor").toULong(), o.getString("currency")) else null,
            nonce = o.getString("nonce"),
            expires = o.getLong("expires"),
        )
    }

    private companion object {
        const val KEY = "order:"
        const val LAST = "last"
    }
}
