package sepa

// Batch holds transactions validated and rendered ahead of the message
// they go into. NbOfTxs and CtrlSum open the message, so a caller that
// learns them only from the transactions themselves collects a file's
// transactions in a Batch (about 350 bytes a transaction in blocks of
// 1 MiB, no pointers for the garbage collector to follow) and then writes
// the message with these totals and WriteBatch. The bytes are those
// Writer.Transaction writes.
type Batch struct {
	blocks  [][]byte
	spare   [][]byte // emptied blocks for reuse
	scratch []byte
	txs     int
	sum     int64
}

const batchBlock = 1 << 20

// Add validates t and appends it. A validation error names the
// EndToEndId and the field; the batch is unchanged then.
func (b *Batch) Add(t Transaction) error {
	if err := validateTransaction(&t); err != nil {
		return err
	}
	b.scratch = appendTx(b.scratch[:0], &t)
	n := len(b.blocks)
	if n == 0 || len(b.blocks[n-1])+len(b.scratch) > cap(b.blocks[n-1]) {
		var blk []byte
		if k := len(b.spare); k > 0 && cap(b.spare[k-1]) >= len(b.scratch) {
			blk, b.spare = b.spare[k-1][:0], b.spare[:k-1]
		} else {
			blk = make([]byte, 0, max(batchBlock, len(b.scratch)))
		}
		b.blocks = append(b.blocks, blk)
		n++
	}
	b.blocks[n-1] = append(b.blocks[n-1], b.scratch...)
	b.txs++
	b.sum += t.Amount
	return nil
}

// Len returns the number of transactions.
func (b *Batch) Len() int { return b.txs }

// Sum returns their sum in cents.
func (b *Batch) Sum() int64 { return b.sum }

// Reset empties the batch and keeps its memory for the next transactions.
func (b *Batch) Reset() {
	b.spare = append(b.spare, b.blocks...)
	b.blocks, b.txs, b.sum = b.blocks[:0], 0, 0
}

// WriteBatch writes the transactions of b into the open PmtInf, as
// Transaction would one by one. b is not changed.
func (w *Writer) WriteBatch(b *Batch) error {
	if err := w.expect(statePmt, "WriteBatch"); err != nil {
		return err
	}
	w.piTxs += b.txs
	w.piSum += b.sum
	for _, blk := range b.blocks {
		if w.err != nil {
			break
		}
		if _, err := w.bw.Write(blk); err != nil {
			w.err = errWrite(w.hdr.MsgID, err)
		}
	}
	return w.err
}
