package com.example.vendor

import org.smartpos.core.CardEntry
import org.smartpos.core.CardRead
import org.smartpos.core.CardReaderDriver
import org.smartpos.core.ConformanceOperator
import org.smartpos.core.DriverException
import org.smartpos.core.PaperState
import org.smartpos.core.PinPadDriver
import org.smartpos.core.PinResult
import org.smartpos.core.PrintItem
import org.smartpos.core.PrinterDriver
import org.smartpos.core.ScannerDriver
import org.smartpos.core.WorkingKeys
import java.util.concurrent.locks.ReentrantLock
import javax.crypto.Cipher
import javax.crypto.spec.SecretKeySpec
import kotlin.concurrent.withLock

/**
 * A blocking slot for operator actions with the HAL's timeout and cancel contract:
 * [take] waits up to the timeout; [cancel] wakes a waiting [take] with `Cancelled` and is
 * ignored when nobody waits.
 *
 * ```kotlin
 * val q = ActionQueue<String>()
 * q.push("card")
 * check(q.take(1000) == "card")
 * ```
 */
class ActionQueue<T> {
    private val lock = ReentrantLock()
    private val changed = lock.newCondition()
    private val items = ArrayDeque<T>()
    private var waiting = false
    private var cancelled = false

    fun push(item: T) = lock.withLock { items.addLast(item); changed.signalAll() }

    fun cancel() = lock.withLock { if (waiting) { cancelled = true; changed.signalAll() } }

    fun take(timeoutMs: Long): T = lock.withLock {
        val deadline = System.nanoTime() + timeoutMs * 1_000_000
        waiting = true
        cancelled = false
        try {
            while (true) {
                if (cancelled) throw DriverException.Cancelled()
                items.removeFirstOrNull()?.let { return it }
                val left = deadline - System.nanoTime()
                if (left <= 0) throw DriverException.Timeout()
                changed.awaitNanos(left)
            }
            @Suppress("UNREACHABLE_CODE")
            throw IllegalStateException()
        } finally {
            waiting = false
            cancelled = false
        }
    }
}

/** DES/3DES as a vendor's secure processor would do it, here with the JDK's provider. */
object Des {
    private fun cipher(key: ByteArray, mode: Int): Cipher {
        val (alg, k) = when (key.size) {
            8 -> "DES" to key
            16 -> "DESede" to key + key.copyOfRange(0, 8)
            24 -> "DESede" to key
            else -> throw DriverException.Device("key length ${key.size}")
        }
        return Cipher.getInstance("$alg/ECB/NoPadding").apply { init(mode, SecretKeySpec(k, alg)) }
    }

    fun encrypt(key: ByteArray, data: ByteArray): ByteArray = cipher(key, Cipher.ENCRYPT_MODE).doFinal(data)
    fun decrypt(key: ByteArray, data: ByteArray): ByteArray = cipher(key, Cipher.DECRYPT_MODE).doFinal(data)
    fun kcv(key: ByteArray): ByteArray = encrypt(key, ByteArray(8)).copyOfRange(0, 4)

    /** ISO 9564 format 0: PIN field XOR the 12 rightmost PAN digits before the check digit. */
    fun format0(pin: String, pan: String): ByteArray {
        val pinField = (String.format("%02d", pin.length) + pin).padEnd(16, 'F')
        val panField = "0000" + pan.substring(pan.length - 13, pan.length - 1)
        return ByteArray(8) { i ->
            (pinField.substring(2 * i, 2 * i + 2).toInt(16) xor panField.substring(2 * i, 2 * i + 2).toInt(16)).toByte()
        }
    }

    /** UnionPay ECB MAC: XOR blocks, hex, encrypt left half, XOR right half, encrypt, first 8 hex chars. */
    fun cupMac(key: ByteArray, data: ByteArray): ByteArray {
        val acc = ByteArray(8)
        data.forEachIndexed { i, b -> acc[i % 8] = (acc[i % 8].toInt() xor b.toInt()).toByte() }
        val hex = acc.joinToString("") { "%02X".format(it) }.toByteArray(Charsets.US_ASCII)
        val left = encrypt(key, hex.copyOfRange(0, 8))
        val mixed = ByteArray(8) { (left[it].toInt() xor hex[8 + it].toInt()).toByte() }
        return encrypt(key, mixed).joinToString("") { "%02X".format(it) }.substring(0, 8).toByteArray(Charsets.US_ASCII)
    }
}

/** Card reader: the operator swipes cards into [actions]. */
class SampleCardReader : CardReaderDriver {
    val actions = ActionQueue<String>()
    override fun waitForCard(amountMinor: ULong, timeoutMs: ULong): CardRead =
        CardRead(actions.take(timeoutMs.toLong()), CardEntry.MAG_STRIPE, byteArrayOf(), null)
    override fun cancel() = actions.cancel()
    override fun cardPresent(): Boolean = false
}

/** PIN pad with a key store; PINs come from the operator and leave only as encrypted blocks. */
open class SamplePinPad : PinPadDriver {
    sealed interface Entry { data class Pin(val pin: String) : Entry; data object Bypass : Entry }
    val actions = ActionQueue<Entry>()
    private var master: ByteArray? = null
    private var pinKey: ByteArray? = null
    private var macKey: ByteArray? = null

    override fun loadMasterKey(key: ByteArray, kcv: ByteArray) {
        if (!Des.kcv(key).contentEquals(kcv)) throw DriverException.KeyCheckFailed()
        master = key.copyOf(); pinKey = null; macKey = null
    }

    open fun checkValueMatches(clearKey: ByteArray, kcv: ByteArray) = Des.kcv(clearKey).contentEquals(kcv)

    override fun loadWorkingKeys(keys: WorkingKeys) {
        val m = master ?: throw DriverException.NoKeys()
        val pin = Des.decrypt(m, keys.pinKey)
        val mac = Des.decrypt(m, keys.macKey)
        if (!checkValueMatches(pin, keys.pinKcv) || !checkValueMatches(mac, keys.macKcv)) throw DriverException.KeyCheckFailed()
        pinKey = pin
        macKey = if (keys.macFirstHalf) mac.copyOfRange(0, 8) else mac
    }

    override fun onlinePin(pan: String, amountMinor: ULong, timeoutMs: ULong): PinResult {
        val key = pinKey ?: throw DriverException.NoKeys()
        return when (val e = actions.take(timeoutMs.toLong())) {
            is Entry.Pin -> PinResult.Block(Des.encrypt(key, Des.format0(e.pin, pan)))
            Entry.Bypass -> PinResult.Bypassed
        }
    }

    override fun mac(data: ByteArray): ByteArray = Des.cupMac(macKey ?: throw DriverException.NoKeys(), data)
    override fun cancel() = actions.cancel()
}

/** Printer that keeps printed lines; the operator can take the paper out or open the cover. */
class SamplePrinter : PrinterDriver {
    @Volatile var state: PaperState = PaperState.OK
    val printed = mutableListOf<String>()
    override fun status(): PaperState = state
    override fun dotWidth(): UInt = 384u
    override fun print(job: List<PrintItem>) {
        when (state) {
            PaperState.OUT_OF_PAPER -> throw DriverException.OutOfPaper()
            PaperState.COVER_OPEN -> throw DriverException.CoverOpen()
            PaperState.OK -> job.forEach { if (it is PrintItem.Text) printed += it.text }
        }
    }
}

/** Scanner: the operator shows codes. */
class SampleScanner : ScannerDriver {
    val actions = ActionQueue<String>()
    override fun scan(timeoutMs: ULong): String = actions.take(timeoutMs.toLong())
    override fun cancel() = actions.cancel()
}

/** The whole set, operated by itself (a vendor's test jig would do the same with robots). */
class SampleDriverSet(val pinPad: SamplePinPad = SamplePinPad()) : ConformanceOperator {
    val cardReader = SampleCardReader()
    val printer = SamplePrinter()
    val scanner = SampleScanner()
    override fun presentCard(track2: String) = cardReader.actions.push(track2)
    override fun enterPin(pin: String) = pinPad.actions.push(SamplePinPad.Entry.Pin(pin))
    override fun bypassPin() = pinPad.actions.push(SamplePinPad.Entry.Bypass)
    override fun showCode(text: String) = scanner.actions.push(text)
    override fun setPaper(status: PaperState) { printer.state = status }
}
