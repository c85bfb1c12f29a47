package com.example.vendor

import org.smartpos.terminal.CardEntry
import org.smartpos.terminal.CardRead
import org.smartpos.terminal.CardReaderDriver
import org.smartpos.terminal.CardStart
import org.smartpos.terminal.ChipAnswer
import org.smartpos.terminal.ChipVerdict
import org.smartpos.terminal.ConformanceOperator
import org.smartpos.terminal.DeviceInfo
import org.smartpos.terminal.DeviceInfoDriver
import org.smartpos.terminal.DriverException
import org.smartpos.terminal.EmvParameterSet
import org.smartpos.terminal.KeyCipher
import org.smartpos.terminal.Module
import org.smartpos.terminal.PaperState
import org.smartpos.terminal.PinFormat
import org.smartpos.terminal.PinPadDriver
import org.smartpos.terminal.PinResult
import org.smartpos.terminal.PrintItem
import org.smartpos.terminal.PrinterDriver
import org.smartpos.terminal.ScannerDriver
import org.smartpos.terminal.WorkingKeys
import org.bouncycastle.crypto.engines.SM4Engine
import org.bouncycastle.crypto.params.KeyParameter
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

/**
 * The ciphers of a key hierarchy as a vendor's secure processor would run them: DES/3DES with
 * the JDK's provider, SM4 with BouncyCastle's engine.
 *
 * ```kotlin
 * val key = ByteArray(16) { it.toByte() }
 * check(Ciphers.kcv(KeyCipher.SM4, key).size == 4)
 * ```
 */
object Ciphers {
    fun blockLen(c: KeyCipher): Int = if (c == KeyCipher.SM4) 16 else 8

    /** Bytes from hex digits (BCD amounts are their own digits): `hex("0100")` is `01 00`. */
    fun hex(digits: String): ByteArray = ByteArray(digits.length / 2) { digits.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

    private fun des(key: ByteArray, mode: Int): Cipher {
        val (alg, k) = when (key.size) {
            8 -> "DES" to key
            16 -> "DESede" to key + key.copyOfRange(0, 8)
            24 -> "DESede" to key
            else -> throw DriverException.Device("DES key length ${key.size}")
        }
        return Cipher.getInstance("$alg/ECB/NoPadding").apply { init(mode, SecretKeySpec(k, alg)) }
    }

    private fun sm4(key: ByteArray, data: ByteArray, encrypt: Boolean): ByteArray {
        if (key.size != 16) throw DriverException.Device("SM4 key length ${key.size}")
        if (data.size % 16 != 0) throw DriverException.Device("SM4 data length ${data.size}")
        val engine = SM4Engine().apply { init(encrypt, KeyParameter(key)) }
        val out = ByteArray(data.size)
        for (at in data.indices step 16) engine.processBlock(data, at, out, at)
        return out
    }

    fun encrypt(c: KeyCipher, key: ByteArray, data: ByteArray): ByteArray = when (c) {
        KeyCipher.DES -> des(key, Cipher.ENCRYPT_MODE).doFinal(data)
        KeyCipher.SM4 -> sm4(key, data, true)
    }

    fun decrypt(c: KeyCipher, key: ByteArray, data: ByteArray): ByteArray = when (c) {
        KeyCipher.DES -> des(key, Cipher.DECRYPT_MODE).doFinal(data)
        KeyCipher.SM4 -> sm4(key, data, false)
    }

    /** Check value: the first 4 bytes of the encryption of one zero block. */
    fun kcv(c: KeyCipher, key: ByteArray): ByteArray = encrypt(c, key, ByteArray(blockLen(c))).copyOfRange(0, 4)

    /**
     * ANSI X9.8 PIN block of [len] bytes: `0`, the PIN length in hex, the PIN, `F` padding; with
     * the card number, XOR the 12 rightmost digits before the check digit, right-aligned.
     */
    fun pinBlock(format: PinFormat, pin: String, pan: String, len: Int): ByteArray {
        val pinField = ("0" + Integer.toHexString(pin.length).uppercase() + pin).padEnd(2 * len, 'F')
        val panField = if (format == PinFormat.WITH_PAN) {
            pan.substring(pan.length - 13, pan.length - 1).padStart(2 * len, '0')
        } else "0".repeat(2 * len)
        return ByteArray(len) { i ->
            (pinField.substring(2 * i, 2 * i + 2).toInt(16) xor panField.substring(2 * i, 2 * i + 2).toInt(16)).toByte()
        }
    }

    /** UnionPay ECB MAC: XOR blocks, hex, encrypt left half, XOR right half, encrypt, first 8 hex chars. */
    fun cupMac(c: KeyCipher, key: ByteArray, data: ByteArray): ByteArray {
        val n = blockLen(c)
        val acc = ByteArray(n)
        data.forEachIndexed { i, b -> acc[i % n] = (acc[i % n].toInt() xor b.toInt()).toByte() }
        val hex = acc.joinToString("") { "%02X".format(it) }.toByteArray(Charsets.US_ASCII)
        val left = encrypt(c, key, hex.copyOfRange(0, n))
        val mixed = ByteArray(n) { (left[it].toInt() xor hex[n + it].toInt()).toByte() }
        return encrypt(c, key, mixed).joinToString("") { "%02X".format(it) }.substring(0, 8).toByteArray(Charsets.US_ASCII)
    }
}

/**
 * Card reader: the operator swipes cards, presents a card that cannot be read, or inserts a chip
 * card into [actions]. Its chip "kernel" is a sample: it makes a cryptogram-shaped 9F26 under a
 * fixed sample key (no issuer could verify it) and accepts after an approval only when the
 * answer carries issuer authentication data (tag 91) with response code `00`; a real reader runs
 * its certified EMV kernel here (ARQC, ARPC check, scripts).
 */
class SampleCardReader : CardReaderDriver {
    sealed interface Swipe {
        data class Card(val track2: String) : Swipe
        data object Unreadable : Swipe
        data class Chip(val track2: String) : Swipe
    }
    val actions = ActionQueue<Swipe>()
    private val lock = Any()
    private var atc = 0
    /** The chip transaction between its halves (the ATC of its first cryptogram), if any. */
    private var pending: Int? = null
    private var cancelledBetween = false

    override fun waitForCard(amountMinor: ULong, timeoutMs: ULong): CardRead =
        when (val swipe = actions.take(timeoutMs.toLong())) {
            is Swipe.Card -> CardRead(swipe.track2, CardEntry.MAG_STRIPE, byteArrayOf(), null)
            is Swipe.Chip -> firstGenerateAc(swipe.track2, amountMinor)
            Swipe.Unreadable -> throw DriverException.CardException("the stripe could not be read")
        }
    override fun cancel() {
        synchronized(lock) { if (pending != null) { pending = null; cancelledBetween = true } }
        actions.cancel()
    }
    override fun cardPresent(): Boolean = false

    /**
     * The first half: a swiped card goes online as swiped, an inserted chip card with field 55
     * (9F26 cryptogram, 9F27 `80` ARQC, 9F36 ATC, 9F02 amount, 84 AID) and sequence `001`. A
     * kernel returns [CardStart.DeclinedOffline] or [CardStart.Fallback] where its card says so.
     */
    override fun startTransaction(amountMinor: ULong, fallback: Boolean, timeoutMs: ULong): CardStart {
        synchronized(lock) { pending = null; cancelledBetween = false }
        return CardStart.Card(waitForCard(amountMinor, timeoutMs))
    }

    private fun firstGenerateAc(track2: String, amountMinor: ULong): CardRead {
        val counter = synchronized(lock) { atc += 1; pending = atc; atc }
        val amount = Ciphers.hex("%012d".format(amountMinor.toLong()))
        val f55 = Tlv.of(0x9F26, cryptogram(amount, counter)) + Tlv.of(0x9F27, byteArrayOf(0x80.toByte())) +
            Tlv.of(0x9F36, byteArrayOf((counter shr 8).toByte(), counter.toByte())) +
            Tlv.of(0x9F02, amount) + Tlv.of(0x84, Ciphers.hex("A000000333010101"))
        return CardRead(track2, CardEntry.CHIP, f55, "001")
    }

    private fun cryptogram(data: ByteArray, counter: Int): ByteArray {
        val block = ByteArray(8)
        data.forEachIndexed { i, b -> block[i % 8] = (block[i % 8].toInt() xor b.toInt()).toByte() }
        block[7] = (block[7].toInt() xor counter).toByte()
        return Ciphers.encrypt(KeyCipher.DES, SAMPLE_CARD_KEY, block)
    }

    /**
     * The chip's last word after an approval: TC (`9F27 40`) when the answer carries tag 91 and
     * the response code `00`, else AAC (`9F27 00`), reported as the card gave it; after a
     * [cancel] between the halves the card is not asked ([DriverException.Cancelled]).
     */
    override fun completeOnline(answer: ChipAnswer, timeoutMs: ULong): ChipVerdict {
        val counter = synchronized(lock) {
            if (cancelledBetween) { cancelledBetween = false; throw DriverException.Cancelled() }
            pending.also { pending = null }
        } ?: return ChipVerdict.Accepted(byteArrayOf()) // a swiped card: nothing to ask
        val accepts = answer.responseCode == "00" && Tlv.find(answer.iccData, 0x91) != null
        val cid = if (accepts) 0x40 else 0x00
        val data = Tlv.of(0x9F27, byteArrayOf(cid.toByte())) +
            Tlv.of(0x9F26, cryptogram(answer.iccData, counter)) +
            Tlv.of(0x9F36, byteArrayOf((counter shr 8).toByte(), counter.toByte()))
        return if (accepts) ChipVerdict.Accepted(data) else ChipVerdict.Declined(data)
    }

    /** The EMV parameters the terminal loaded last (sign-in downloads them), or null. */
    @Volatile var loaded: EmvParameterSet? = null
        private set

    /**
     * The terminal's EMV parameters, after each download and once a process. A kernel puts
     * [EmvParameterSet.caKeys] into its CA key store and [EmvParameterSet.aids] into its AID
     * list (most vendor kernels take each record's [CaKeyRecord.tlv] / [AidRecord.tlv] as is);
     * this sample only keeps them. Example: `reader.loaded?.aids?.size`.
     */
    override fun loadParameters(params: EmvParameterSet) {
        loaded = params
    }

    private companion object {
        val SAMPLE_CARD_KEY = Ciphers.hex("0123456789ABCDEF")
    }
}

/** BER-TLV, as much as the sample kernel needs: one- and two-byte tags, short lengths. */
object Tlv {
    /** One data object. */
    fun of(tag: Int, value: ByteArray): ByteArray {
        val t = if (tag > 0xFF) byteArrayOf((tag shr 8).toByte(), tag.toByte()) else byteArrayOf(tag.toByte())
        val l = if (value.size < 0x80) byteArrayOf(value.size.toByte()) else byteArrayOf(0x81.toByte(), value.size.toByte())
        return t + l + value
    }

    /** The value of the first top-level object with [tag], or null (also on malformed data). */
    fun find(data: ByteArray, tag: Int): ByteArray? {
        var i = 0
        while (i < data.size) {
            var t = data[i].toInt() and 0xFF; i++
            if (t and 0x1F == 0x1F) { if (i >= data.size) return null; t = (t shl 8) or (data[i].toInt() and 0xFF); i++ }
            if (i >= data.size) return null
            var len = data[i].toInt() and 0xFF; i++
            if (len == 0x81) { if (i >= data.size) return null; len = data[i].toInt() and 0xFF; i++ } else if (len > 0x80) return null
            if (i + len > data.size) return null
            if (t == tag) return data.copyOfRange(i, i + len)
            i += len
        }
        return null
    }
}

/** PIN pad with a key store; PINs come from the operator and leave only as encrypted blocks. */
open class SamplePinPad : PinPadDriver {
    sealed interface Entry { data class Pin(val pin: String) : Entry; data object Bypass : Entry }
    val actions = ActionQueue<Entry>()
    private var cipher = KeyCipher.DES
    private var master: ByteArray? = null
    private var pinKey: ByteArray? = null
    private var macKey: ByteArray? = null
    private var pinFormat = PinFormat.WITH_PAN

    override fun loadMasterKey(cipher: KeyCipher, key: ByteArray, kcv: ByteArray) {
        if (!Ciphers.kcv(cipher, key).contentEquals(kcv)) throw DriverException.KeyCheckFailed()
        this.cipher = cipher; master = key.copyOf(); pinKey = null; macKey = null
    }

    open fun checkValueMatches(clearKey: ByteArray, kcv: ByteArray) = Ciphers.kcv(cipher, clearKey).contentEquals(kcv)

    override fun loadWorkingKeys(keys: WorkingKeys) {
        val m = master ?: throw DriverException.NoKeys()
        if (keys.cipher != cipher) throw DriverException.Device("working keys are ${keys.cipher}, the master key is $cipher")
        val pin = Ciphers.decrypt(cipher, m, keys.pinKey)
        val mac = Ciphers.decrypt(cipher, m, keys.macKey)
        if (!checkValueMatches(pin, keys.pinKcv) || !checkValueMatches(mac, keys.macKcv)) throw DriverException.KeyCheckFailed()
        if (keys.macFirstHalf && cipher == KeyCipher.SM4) throw DriverException.Device("an SM4 MAC key has no first half")
        pinKey = pin
        macKey = if (keys.macFirstHalf) mac.copyOfRange(0, 8) else mac
        pinFormat = keys.pinFormat
    }

    override fun onlinePin(pan: String, amountMinor: ULong, timeoutMs: ULong): PinResult {
        val key = pinKey ?: throw DriverException.NoKeys()
        return when (val e = actions.take(timeoutMs.toLong())) {
            is Entry.Pin -> PinResult.Block(
                Ciphers.encrypt(cipher, key, Ciphers.pinBlock(pinFormat, e.pin, pan, Ciphers.blockLen(cipher)))
            )
            Entry.Bypass -> PinResult.Bypassed
        }
    }

    override fun mac(data: ByteArray): ByteArray = Ciphers.cupMac(cipher, macKey ?: throw DriverException.NoKeys(), data)
    override fun cancel() = actions.cancel()
}

/**
 * Printer whose paper is the list of jobs it printed; the operator tears it off ([tear]), takes
 * the paper out or opens the cover. Bitmaps and QR codes wider than the head are refused.
 */
class SamplePrinter : PrinterDriver {
    @Volatile var state: PaperState = PaperState.OK
    val printed = mutableListOf<String>()
    private val paper = mutableListOf<List<PrintItem>>()
    override fun status(): PaperState = state
    override fun dotWidth(): UInt = 384u
    @Synchronized override fun print(job: List<PrintItem>) {
        when (state) {
            PaperState.OUT_OF_PAPER -> throw DriverException.OutOfPaper()
            PaperState.COVER_OPEN -> throw DriverException.CoverOpen()
            PaperState.OK -> {
                job.forEach {
                    if (it is PrintItem.Bitmap && (it.width == 0u || it.width > dotWidth())) {
                        throw DriverException.Device("bitmap ${it.width} dots wide")
                    }
                }
                job.forEach { if (it is PrintItem.Text) printed += it.text }
                paper += job
            }
        }
    }
    /** The jobs printed since the last tear. */
    @Synchronized fun tear(): List<List<PrintItem>> = paper.toList().also { paper.clear() }
}

/** Device information a vendor fills from `Build` and the package manager. */
class SampleDevice : DeviceInfoDriver {
    override fun deviceInfo() = DeviceInfo(
        vendor = "ExampleVendor", model = "P2", osVersion = "11", securityPatch = "2026-10-05",
        serial = "P2-000123",
        modules = listOf(Module.MAG_STRIPE, Module.CONTACT_CHIP, Module.CONTACTLESS, Module.PIN_PAD, Module.PRINTER, Module.SCANNER),
        installedPackages = listOf("com.example.merchant"),
    )
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
    val device = SampleDevice()
    private var printout: List<List<PrintItem>> = emptyList()
    override fun presentCard(track2: String) = cardReader.actions.push(SampleCardReader.Swipe.Card(track2))
    override fun presentUnreadableCard() = cardReader.actions.push(SampleCardReader.Swipe.Unreadable)
    override fun presentChipCard(track2: String) = cardReader.actions.push(SampleCardReader.Swipe.Chip(track2))
    override fun takePrintout(): Boolean { printout = printer.tear(); return printout.isNotEmpty() }
    override fun showPrintoutQr() {
        printout.flatten().filterIsInstance<PrintItem.Qr>().firstOrNull()?.let { scanner.actions.push(it.data) }
    }
    override fun printoutHasBitmap(width: UInt, pixels: List<Boolean>): Boolean =
        printout.flatten().filterIsInstance<PrintItem.Bitmap>().any { it.width == width && it.pixels == pixels }
    override fun enterPin(pin: String) = pinPad.actions.push(SamplePinPad.Entry.Pin(pin))
    override fun bypassPin() = pinPad.actions.push(SamplePinPad.Entry.Bypass)
    override fun showCode(text: String) = scanner.actions.push(text)
    override fun setPaper(status: PaperState) { printer.state = status }
}
