package com.example.merchant

import java.nio.ByteBuffer
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.nio.file.StandardOpenOption

/**
 * The orders handed to the acquiring app whose final result the shop has not seen yet, one per
 * line in [file]. Every change is written to a temporary file, forced to disk and moved over the
 * old one, so a kill leaves either the old list or the new one.
 *
 * ```kotlin
 * val pending = PendingOrders(context.filesDir.toPath().resolve("pending-orders"))
 * pending.add("A-1001")
 * check("A-1001" in pending.all())
 * ```
 */
class PendingOrders(private val file: Path) {
    /** The pending order ids, oldest first. */
    @Synchronized
    fun all(): List<String> =
        if (Files.exists(file)) Files.readAllLines(file).filter { it.isNotBlank() } else emptyList()

    /** Records [order] as handed over (idempotent). */
    @Synchronized
    fun add(order: String) {
        val now = all()
        if (order !in now) write(now + order)
    }

    /** Forgets [order] once its result is final. */
    @Synchronized
    fun remove(order: String) = write(all() - order)

    private fun write(orders: List<String>) {
        Files.createDirectories(file.toAbsolutePath().parent)
        val tmp = file.resolveSibling("${file.fileName}.tmp")
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
        ).use { ch ->
            ch.write(ByteBuffer.wrap(orders.joinToString("") { "$it\n" }.toByteArray()))
            ch.force(true)
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    }
}
