package salesforce

// Editor changes Contacts as a person using Salesforce would, outside the
// API: the changes move SystemModstamp, are made as HumanUserID, send
// outbound messages and count against no limit. Errors are *Error, as the
// API would answer them.
type Editor struct {
	e    *Emulator
	user string
}

// UI returns an Editor whose changes are made by a Salesforce user.
func (e *Emulator) UI() Editor { return Editor{e: e, user: e.cfg.HumanUserID} }

// CreateContact creates a Contact with the fields fs.
func (ed Editor) CreateContact(fs Fields) (Contact, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	c, err := ed.e.create(fs, ed.user)
	if err != nil {
		return Contact{}, err
	}
	return *c, nil
}

// UpdateContact sets the fields fs of the live Contact id.
func (ed Editor) UpdateContact(id string, fs Fields) (Contact, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	c, ok := ed.e.byID(id)
	if !ok || c.IsDeleted {
		return Contact{}, notFound()
	}
	if err := ed.e.update(c, fs, ed.user); err != nil {
		return Contact{}, err
	}
	return *c, nil
}

// DeleteContact deletes the Contact id (to the recycle bin).
func (ed Editor) DeleteContact(id string) error {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	if err := ed.e.remove(id, ed.user); err != nil {
		return err
	}
	return nil
}

// Touch moves the SystemModstamp of the live Contact id without changing a
// field Tandem maps, as Salesforce automation does (a formula, a roll-up, a
// system job), leaving LastModifiedById as it was.
func (ed Editor) Touch(id string) error {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	c, ok := ed.e.byID(id)
	if !ok || c.IsDeleted {
		return notFound()
	}
	c.SystemModstamp = ed.e.stamp()
	return nil
}
