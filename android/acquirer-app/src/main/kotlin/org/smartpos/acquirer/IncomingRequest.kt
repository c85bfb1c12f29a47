package org.smartpos.acquirer

import android.content.Intent
import org.smartpos.terminal.RequestCarrier

/**
 * A payment request as it reached the acquiring app: the `smartpos://pay/v1` deep link, or the
 * explicit intent's `smartpos.*` extras. Nothing in it is trusted; the core parses and checks it.
 *
 * ```kotlin
 * val request = IncomingRequest.from(intent) ?: return finish()
 * ```
 */
sealed interface IncomingRequest {
    /** Identifies the request by its content (its nonce makes each one distinct). */
    val key: String

    /** The request as the core takes it. */
    fun carrier(): RequestCarrier = when (this) {
        is DeepLink -> RequestCarrier.DeepLink(uri)
        is Extras -> RequestCarrier.Intent(extras)
    }

    /** `smartpos://pay/v1?...`; the answer goes to its callback link. */
    data class DeepLink(val uri: String) : IncomingRequest {
        override val key get() = "link:$uri"
    }

    /** The intent carrier; the answer goes back through `setResult`. */
    data class Extras(val extras: Map<String, String>) : IncomingRequest {
        override val key get() = "extras:" + extras.toSortedMap().entries.joinToString("&") { "${it.key}=${it.value}" }
    }

    companion object {
        /** The action of the intent carrier. */
        const val ACTION_PAY = "org.smartpos.action.PAY"

        /** The request [intent] carries, or null when it carries none. */
        fun from(intent: Intent?): IncomingRequest? {
            intent ?: return null
            if (intent.action == Intent.ACTION_VIEW) {
                val data = intent.dataString ?: return null
                return if (data.startsWith("smartpos://pay/")) DeepLink(data) else null
            }
            if (intent.action != ACTION_PAY) return null
            val bundle = intent.extras ?: return Extras(emptyMap())
            val extras = bundle.keySet().filter { it.startsWith("smartpos.") }
                .associateWith { k -> bundle.get(k)?.toString() ?: "" }
            return Extras(extras)
        }
    }
}
